"""The chain's side of a certificate line: what the chain holds behind a reference (a record, or a
record of a batch), if it is approved service that may be certified."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.chain.contracts import (
    Batch,
    BatchStatus,
    DurationRule,
    FixedRule,
    PackedRecord,
    Record,
    RecordStatus,
    Scheme,
)
from ledger.chain.contracts.rules import GRADE_LETTERS, decode_action
from ledger.earning.certificates.parts import CertificateParts
from ledger.errors import ContractRevert, InputError

_RECORD_REF = re.compile(r"^record:([1-9][0-9]{0,18})$")
_BATCH_REF = re.compile(r"^batch:([1-9][0-9]{0,18})#([0-9]{1,4})$")


class NotCertifiable(Exception):
    """A reference the chain does not back as approved service; the message says why."""


@dataclass(frozen=True)
class ChainEntry:
    """What the chain holds for one reference (a record, or a record of a batch)."""

    scheme_id: int
    volunteer: str
    start: int
    end: int
    details_hash: bytes
    points: int
    rule_version: int
    action: str | None

    @classmethod
    def of(
        cls,
        record: Record | PackedRecord,
        scheme_id: int,
        points: int,
        rule_version: int,
        action: str | None,
    ) -> ChainEntry:
        """A record's service (volunteer, times, details hash), with what its scheme paid."""
        return cls(
            scheme_id=scheme_id,
            volunteer=record.volunteer,
            start=record.start,
            end=record.end,
            details_hash=record.details_hash,
            points=points,
            rule_version=rule_version,
            action=action,
        )


class ChainRecords:
    """The chain's answers for one certificate, each read once."""

    def __init__(self, parts: CertificateParts) -> None:
        self.parts = parts
        self._schemes: dict[int, Scheme] = {}
        self._codes: dict[str, Scheme | None] = {}
        self._rules: dict[tuple[int, int], DurationRule | FixedRule] = {}
        self._batches: dict[int, tuple[Batch, list[PackedRecord]]] = {}

    def scheme_by_id(self, scheme_id: int) -> Scheme:
        if scheme_id not in self._schemes:
            self._schemes[scheme_id] = self.parts.scheme(scheme_id)
        return self._schemes[scheme_id]

    def scheme(self, code: str) -> Scheme | None:
        """A scheme by code, or None if the chain has none of that code."""
        if code not in self._codes:
            try:
                found: Scheme | None = self.parts.scheme(code)
            except ContractRevert:
                found = None
            self._codes[code] = found
        return self._codes[code]

    def rule(self, scheme_id: int, version: int) -> DurationRule | FixedRule:
        if (scheme_id, version) not in self._rules:
            self._rules[scheme_id, version] = self.parts.rule(scheme_id, version)
        return self._rules[scheme_id, version]

    def entry(self, ref: str) -> ChainEntry:
        """The chain's record behind `ref`, if it is approved service; else NotCertifiable."""
        if match := _RECORD_REF.match(ref):
            return self._record(int(match.group(1)))
        if match := _BATCH_REF.match(ref):
            return self._batch_record(int(match.group(1)), int(match.group(2)))
        raise NotCertifiable("not a reference to a record (record:ID or batch:ID#INDEX)")

    def _record(self, record_id: int) -> ChainEntry:
        try:
            record = self.parts.records.record(record_id)
        except ContractRevert:
            raise NotCertifiable(f"there is no record {record_id} on chain") from None
        if record.status is RecordStatus.SUPERSEDED:
            raise NotCertifiable(f"superseded by record {record.correction} (a correction)")
        if record.status is not RecordStatus.APPROVED:
            raise NotCertifiable(f"not approved (the record is {record.status.label})")
        action = decode_action(record.action) if record.action != bytes(32) else None
        return ChainEntry.of(record, record.scheme_id, record.points, record.rule_version, action)

    def _batch_record(self, batch_id: int, index: int) -> ChainEntry:
        if batch_id not in self._batches:
            try:
                batch = self.parts.records.batch(batch_id)
            except ContractRevert:
                raise NotCertifiable(f"there is no batch {batch_id} on chain") from None
            packed = (
                self.parts.records.batch_records(batch_id)
                if batch.status is BatchStatus.APPROVED
                else []
            )
            self._batches[batch_id] = (batch, packed)
        batch, packed = self._batches[batch_id]
        if batch.status is not BatchStatus.APPROVED:
            raise NotCertifiable(f"batch {batch_id} is not approved (it is {batch.status.label})")
        if index >= len(packed):
            raise NotCertifiable(f"batch {batch_id} has no record #{index}")
        imported = self.parts.records.batch_record_id(batch_id, index)
        if imported and self.parts.records.record(imported).status is RecordStatus.SUPERSEDED:
            correction = self.parts.records.record(imported).correction
            raise NotCertifiable(
                f"superseded by record {correction} (a correction of record {imported})"
            )
        record = packed[index]
        rule = self.rule(batch.scheme_id, batch.rule_version)
        action = None
        try:
            if isinstance(rule, DurationRule):
                points = rule.points((record.end - record.start) // 60, GRADE_LETTERS[record.code])
            else:
                action = list(rule.actions)[record.code]
                points = rule.actions[action]
        except (IndexError, InputError):
            raise NotCertifiable(
                f"batch {batch_id} record #{index} names grade or action {record.code}, which "
                f"rule version {batch.rule_version} does not have"
            ) from None
        return ChainEntry.of(record, batch.scheme_id, points, batch.rule_version, action)
