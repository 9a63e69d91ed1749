"""Anomaly rules: farming and collusion patterns in what the chain holds (MISSION.md: machine
point-farming 机器刷分, human cheating 人为作弊).

Each rule reads the event index over a bounded range of blocks (and, for records paid in batches,
the approving transactions, whose input carries the records; ``ledger.audit.anomalies.records``)
and reports findings with their evidence: the records, the accounts, and the transactions and
blocks that show it. Thresholds come from ``audit.json`` in the config directory
(``ledger.config.AnomalyThresholds``). The rules, by family: ``burst`` and ``registration_burst``
(``volume``), ``evidence_reuse`` (``reuse``), ``collusion`` (``collusion``), ``outside_window``
and ``fast_review`` (``timing``); each module says what its rules look for.
"""

from __future__ import annotations

import difflib

from sqlmodel import Session

from ledger.audit.anomalies.collusion import collusion
from ledger.audit.anomalies.findings import AnomalyReport, Finding
from ledger.audit.anomalies.records import events_between, read_activities, read_records
from ledger.audit.anomalies.reuse import evidence_reuse
from ledger.audit.anomalies.timing import fast_review, outside_window
from ledger.audit.anomalies.volume import burst, registration_burst
from ledger.audit.index.bounds import behind, beyond_index, check_block
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.config import AnomalyThresholds
from ledger.errors import InputError

RULES = (
    "burst",
    "evidence_reuse",
    "collusion",
    "outside_window",
    "fast_review",
    "registration_burst",
)


def detect(
    ledger: AuditSource,
    index: IndexQueries,
    *,
    rules: list[str] | tuple[str, ...] | None = None,
    scheme: str | int | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
    thresholds: AnomalyThresholds | None = None,
) -> AnomalyReport:
    """Run `rules` (default: all) over blocks `from_block`..`to_block` (default: the newest
    ``default_blocks`` the index holds), for one scheme or all; findings sorted by rule and block.
    InputError for an unknown rule, a bad or too large range; IndexBehind past the indexed block."""
    t = thresholds or ledger.settings.anomaly_thresholds
    chosen = _rules(rules)
    indexed, head = index.synced()
    hi = indexed if to_block is None else check_block(to_block, "to_block")
    if hi > indexed:
        raise beyond_index(hi, indexed, head)
    start = ledger.manifest.deploy_block
    lo = (
        max(hi - t.default_blocks + 1, start)
        if from_block is None
        else check_block(from_block, "from_block")
    )
    if lo > hi:
        raise InputError(f"from_block {lo} is after to_block {hi}")
    if hi - lo + 1 > t.max_blocks:
        raise InputError(
            f"{hi - lo + 1} blocks is more than one run reads ({t.max_blocks}); give from_block "
            "and to_block closer together",
            max_blocks=t.max_blocks,
        )
    scheme_id = ledger.scheme(scheme).id if scheme is not None else None
    with Session(index.engine) as db:
        records = read_records(ledger.records, db, lo, hi, scheme_id)
        registrations = (
            events_between(db, ("MemberRegistered",), lo, hi)
            if "registration_burst" in chosen
            else []
        )
        activities = (
            read_activities(db, {r.activity_id for r in records if r.activity_id})
            if "outside_window" in chosen
            else {}
        )
    findings: list[Finding] = []
    if "burst" in chosen:
        findings += burst(records, t)
    if "evidence_reuse" in chosen:
        findings += evidence_reuse(records, t)
    if "collusion" in chosen:
        findings += collusion(records, t)
    if "outside_window" in chosen:
        findings += outside_window(records, activities)
    if "fast_review" in chosen:
        findings += fast_review(records, t)
    if "registration_burst" in chosen and scheme_id is None:
        findings += registration_burst(registrations, t)
    findings.sort(key=lambda f: (RULES.index(f.rule), f.first_block, f.records, f.accounts))
    return AnomalyReport(
        from_block=lo,
        to_block=hi,
        rules=chosen,
        scheme_id=scheme_id,
        thresholds=t.model_dump(),
        findings=tuple(findings),
        records=len(records),
        registrations=len(registrations),
        indexed_block=indexed,
        blocks_behind=behind(indexed, head),
    )


def _rules(rules: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not rules:
        return RULES
    for r in rules:
        if r not in RULES:
            close = difflib.get_close_matches(str(r), RULES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"no anomaly rule {r!r}{hint} Rules: {', '.join(RULES)}", rule=r)
    return tuple(r for r in RULES if r in rules)
