"""What a batch plan is made of: the rows to pay, the bad rows with their line numbers, the rows
skipped (paid before) and the rows whose values were normalised as read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ledger.chain.contracts.packed_records import PackedRecord
from ledger.errors import InvalidRows


def row_label(line: int, record_id: str) -> str:
    """How a report names a row of the file: its line, and its record id when it has one."""
    return f"line {line}" + (f" ({record_id})" if record_id else "")


@dataclass(frozen=True)
class RowError:
    line: int
    record_id: str
    message: str

    def __str__(self) -> str:
        return f"{row_label(self.line, self.record_id)}: {self.message}"


@dataclass
class Row:
    line: int
    record_id: str
    volunteer: str
    activity_id: int
    start: int
    end: int
    code: int
    points: int
    details: dict[str, str]
    details_hash: bytes
    evidence_hash: bytes
    employer: str | None
    #: The chunk this record was planned into by an earlier run, if any.
    chunk_hash: str | None = None

    def packed(self) -> PackedRecord:
        return PackedRecord(
            volunteer=self.volunteer,
            activity_id=self.activity_id,
            start=self.start,
            end=self.end,
            code=self.code,
            details_hash=self.details_hash,
            evidence_hash=self.evidence_hash,
        )


@dataclass(frozen=True)
class Skipped:
    line: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class Normalised:
    """A row whose values were rewritten as read: which fields, and how (dates shown)."""

    line: int
    record_id: str
    changes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{row_label(self.line, self.record_id)}: {'; '.join(self.changes)}"


@dataclass
class BatchPlan:
    scheme_id: int
    scheme_code: str
    path: Path
    file_sha256: str
    rule_version: int
    rows: list[Row]
    errors: list[RowError]
    skipped: list[Skipped]
    total_rows: int
    #: Rows whose values were normalised as read (full-width characters, Excel's date forms).
    normalised: list[Normalised] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.rows)

    def raise_if_bad(self) -> None:
        if self.errors:
            shown = "\n".join(f"  {e}" for e in self.errors[:200])
            more = f"\n  ... and {len(self.errors) - 200} more" if len(self.errors) > 200 else ""
            raise InvalidRows(
                f"{len(self.errors)} bad row(s) in {self.path.name}; nothing was written:\n"
                f"{shown}{more}",
                rows=[
                    {"line": e.line, "record_id": e.record_id, "error": e.message}
                    for e in self.errors
                ],
            )
