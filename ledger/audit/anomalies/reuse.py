"""The anomaly rule ``evidence_reuse``: one evidence hash (photos, a sign-in sheet) on more than
``evidence_max_records`` records, in any scheme. The chain does not refuse it (the store does, for
records entered here)."""

from __future__ import annotations

from collections import defaultdict

from ledger.audit.anomalies.findings import Finding, one_scheme
from ledger.audit.anomalies.records import ChainRecord
from ledger.config import AnomalyThresholds


def evidence_reuse(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    groups: dict[str, list[ChainRecord]] = defaultdict(list)
    for r in records:
        groups[r.evidence_hash].append(r)
    findings = []
    for digest, rs in groups.items():
        if len(rs) <= t.evidence_max_records:
            continue
        findings.append(
            Finding(
                rule="evidence_reuse",
                message=f"evidence {digest} backs {len(rs)} records",
                scheme_id=one_scheme(r.scheme_id for r in rs),
                accounts=tuple(dict.fromkeys(r.volunteer for r in rs)),
                records=tuple(r.ref for r in rs),
                evidence=tuple(
                    step.evidence(f"{r.ref} {what}")
                    for r in rs
                    for step, what in ((r.submitted, "submitted"), (r.approved, "approved"))
                    if step is not None
                ),
            )
        )
    return findings
