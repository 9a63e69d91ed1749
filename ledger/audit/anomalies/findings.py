"""What the anomaly rules report: findings with the evidence on chain behind them, and the
report of one run (``ledger.audit.anomalies.detect``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """One fact on chain behind a finding."""

    what: str
    tx_hash: str
    block: int
    timestamp: datetime


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    scheme_id: int | None
    accounts: tuple[str, ...]
    #: record:12, or batch:3#7 for the 8th record of batch 3.
    records: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    @property
    def first_block(self) -> int:
        return min(e.block for e in self.evidence)

    @property
    def last_block(self) -> int:
        return max(e.block for e in self.evidence)


@dataclass(frozen=True)
class AnomalyReport:
    from_block: int
    to_block: int
    rules: tuple[str, ...]
    scheme_id: int | None
    thresholds: dict[str, int]
    findings: tuple[Finding, ...]
    #: Records and registrations the rules looked at.
    records: int
    registrations: int
    indexed_block: int
    blocks_behind: int


def one_scheme(scheme_ids: Iterable[int]) -> int | None:
    """The one scheme of a finding's records, or None when they span several."""
    schemes = set(scheme_ids)
    return schemes.pop() if len(schemes) == 1 else None


def finding_rows(report: AnomalyReport) -> list[dict[str, Any]]:
    """One CSV row per finding, its evidence joined."""
    return [
        {
            "rule": f.rule,
            "message": f.message,
            "scheme_id": f.scheme_id,
            "accounts": list(f.accounts),
            "records": list(f.records),
            "first_block": f.first_block,
            "last_block": f.last_block,
            "tx_hashes": list(dict.fromkeys(e.tx_hash for e in f.evidence)),
        }
        for f in report.findings
    ]
