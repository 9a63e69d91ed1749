"""Anomaly rules: farming and collusion patterns in what the chain holds (MISSION.md: machine
point-farming 机器刷分, human cheating 人为作弊).

Each rule reads the event index over a bounded range of blocks (and, for records paid in batches,
the approving transactions, whose input carries the records) and reports findings with their
evidence: the records, the accounts, and the transactions and blocks that show it. Thresholds come
from ``audit.json`` in the config directory (``ledger.config.AnomalyThresholds``). The rules:

``burst``
    More than ``burst_records`` records, or more than ``burst_hours`` hours of service, of one
    volunteer in one scheme on one service day (the day, China Standard Time, each record's
    service starts; a batch's records each count on their own day). Judged by the service times
    the records state, not by when they were submitted: a batch file submits many days' records
    of every member at once, which is ordinary; nobody serves fourteen hours a day.
``evidence_reuse``
    One evidence hash (photos, a sign-in sheet) on more than ``evidence_max_records`` records,
    in any scheme. The chain does not refuse it (the store does, for records entered here).
``collusion``
    Reviewers and volunteers approving each other: A approved a record of B and B one of A (a
    pair), or a ring A->B->C->A of up to ``ring_max_length`` accounts; and one reviewer approving
    ``pair_max_approvals`` or more records of one volunteer.
``outside_window``
    A record of an activity whose service time is not within the activity's window, or that was
    approved after the activity was cancelled. The contracts refuse the first at submission; the
    rule checks it anyway (older deployments, upgraded contracts).
``fast_review``
    A record approved less than ``min_review_seconds`` after it was submitted (a batch: after the
    batch was submitted), and runs of ``fast_run`` or more approvals by one reviewer each less
    than ``min_review_seconds`` after the one before: faster than a person can review.
``registration_burst``
    More than ``registrations_max`` members registered by one registrar within
    ``registrations_window_seconds``.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.audit.queries import events_naming
from ledger.config import AnomalyThresholds
from ledger.errors import IndexBehind, InputError
from ledger.store.index import IndexEvent
from ledger.values import CST

if TYPE_CHECKING:
    from ledger.audit.queries import IndexQueries
    from ledger.ledger import Ledger

RULES = (
    "burst",
    "evidence_reuse",
    "collusion",
    "outside_window",
    "fast_review",
    "registration_burst",
)
_RECORD_EVENTS = ("RecordSubmitted", "RecordFirstApproval", "RecordApproved")
_BATCH_EVENTS = ("BatchSubmitted", "BatchApproved")


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


@dataclass(frozen=True)
class Step:
    tx_hash: str
    block: int
    timestamp: int

    def evidence(self, what: str) -> Evidence:
        return Evidence(what, self.tx_hash, self.block, datetime.fromtimestamp(self.timestamp, UTC))


@dataclass
class ChainRecord:
    """A service record as the chain shows it: single (record:N) or in a batch (batch:B#i)."""

    ref: str
    scheme_id: int
    volunteer: str
    submitter: str
    activity_id: int
    start: int
    end: int
    evidence_hash: str
    submitted: Step | None = None
    approved: Step | None = None
    reviewer: str | None = None
    first_reviewer: str | None = None
    approvers: list[str] = field(default_factory=list)


def detect(
    ledger: Ledger,
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
    hi = indexed if to_block is None else _block(to_block, "to_block")
    if hi > indexed:
        raise IndexBehind(
            f"the index holds the chain up to block {indexed}, not {hi}: wait for it to catch up "
            f"({max(head - indexed, 0)} blocks behind at its last sync) or ask about earlier blocks",
            indexed_block=indexed,
            chain_head=head,
            blocks_behind=max(head - indexed, 0),
        )
    start = ledger.manifest.deploy_block
    lo = (
        max(hi - t.default_blocks + 1, start)
        if from_block is None
        else _block(from_block, "from_block")
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
        records = _records(ledger, db, lo, hi, scheme_id)
        registrations = (
            _events(db, ("MemberRegistered",), lo, hi) if "registration_burst" in chosen else []
        )
        activities = (
            _activities(db, {r.activity_id for r in records if r.activity_id})
            if "outside_window" in chosen
            else {}
        )
    findings: list[Finding] = []
    if "burst" in chosen:
        findings += _burst(records, t)
    if "evidence_reuse" in chosen:
        findings += _evidence_reuse(records, t)
    if "collusion" in chosen:
        findings += _collusion(records, t)
    if "outside_window" in chosen:
        findings += _outside_window(records, activities)
    if "fast_review" in chosen:
        findings += _fast_review(records, t)
    if "registration_burst" in chosen and scheme_id is None:
        findings += _registration_burst(registrations, t)
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
        blocks_behind=max(head - indexed, 0),
    )


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


# --- reading the chain's records -----------------------------------------------------------------


def _rules(rules: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not rules:
        return RULES
    for r in rules:
        if r not in RULES:
            close = difflib.get_close_matches(str(r), RULES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"no anomaly rule {r!r}{hint} Rules: {', '.join(RULES)}", rule=r)
    return tuple(r for r in RULES if r in rules)


def _block(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name} must be a block number (0 or more), not {value!r}")
    return value


def _events(db: Session, names: tuple[str, ...], lo: int, hi: int) -> list[IndexEvent]:
    return list(
        db.exec(
            select(IndexEvent)
            .where(col(IndexEvent.event).in_(names))
            .where(col(IndexEvent.block_number) >= lo)
            .where(col(IndexEvent.block_number) <= hi)
            .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
        )
    )


def _by_refs(db: Session, refs: set[str], names: tuple[str, ...]) -> list[IndexEvent]:
    """Events named `names` that name any of `refs` (in chunks: a bounded IN list)."""
    out: list[IndexEvent] = []
    ordered = sorted(refs)
    for i in range(0, len(ordered), 500):
        out += db.exec(events_naming(*ordered[i : i + 500]).where(col(IndexEvent.event).in_(names)))
    return out


def _step(e: IndexEvent) -> Step:
    return Step(e.tx_hash, e.block_number, e.timestamp)


def _address(value: str) -> str:
    return to_checksum_address(value)


def _records(
    ledger: Ledger, db: Session, lo: int, hi: int, scheme_id: int | None
) -> list[ChainRecord]:
    """Records submitted or decided in the range: single records from their events, batch
    records from the transactions that approved them."""
    events = _events(db, _RECORD_EVENTS + _BATCH_EVENTS, lo, hi)
    record_ids = {int(json.loads(e.args)["recordId"]) for e in events if e.event in _RECORD_EVENTS}
    seen = {(e.block_number, e.log_index) for e in events}
    extra = _by_refs(db, {f"record:{i}" for i in record_ids}, _RECORD_EVENTS)
    batch_ids = {int(json.loads(e.args)["batchId"]) for e in events if e.event in _BATCH_EVENTS}
    extra += _by_refs(db, {f"batch:{i}" for i in batch_ids}, _BATCH_EVENTS)
    events += [e for e in extra if (e.block_number, e.log_index) not in seen]
    events.sort(key=lambda e: (e.block_number, e.log_index))

    singles: dict[int, ChainRecord] = {}
    batches: dict[int, dict[str, Any]] = defaultdict(dict)
    for e in events:
        a = json.loads(e.args)
        if e.event == "RecordSubmitted":
            r = a["record"]
            singles[int(a["recordId"])] = ChainRecord(
                ref=f"record:{a['recordId']}",
                scheme_id=int(a["schemeId"]),
                volunteer=_address(a["volunteer"]),
                submitter=_address(a["submitter"]),
                activity_id=int(r["activityId"]),
                start=int(r["start"]),
                end=int(r["end"]),
                evidence_hash=r["evidenceHash"],
                submitted=_step(e),
            )
        elif e.event in ("RecordFirstApproval", "RecordApproved"):
            rec = singles.get(int(a["recordId"]))
            if rec is None:
                continue
            reviewer = _address(a["reviewer"])
            rec.approvers.append(reviewer)
            if e.event == "RecordFirstApproval":
                rec.first_reviewer = reviewer
            else:
                rec.reviewer, rec.approved = reviewer, _step(e)
        else:
            b = batches[int(a["batchId"])]
            b[e.event] = (e, a)
    out = list(singles.values())
    for batch_id, b in sorted(batches.items()):
        if "BatchSubmitted" not in b or "BatchApproved" not in b:
            continue  # a batch pays nothing until approved
        sub, sub_args = b["BatchSubmitted"]
        app, app_args = b["BatchApproved"]
        reviewer = _address(app_args["reviewer"])
        for i, p in enumerate(ledger.records.batch_records(batch_id, tx_hash=app.tx_hash)):
            out.append(
                ChainRecord(
                    ref=f"batch:{batch_id}#{i}",
                    scheme_id=int(sub_args["schemeId"]),
                    volunteer=_address(p.volunteer),
                    submitter=_address(sub_args["submitter"]),
                    activity_id=p.activity_id,
                    start=p.start,
                    end=p.end,
                    evidence_hash="0x" + p.evidence_hash.hex(),
                    submitted=_step(sub),
                    approved=_step(app),
                    reviewer=reviewer,
                    approvers=[reviewer],
                )
            )
    if scheme_id is not None:
        out = [r for r in out if r.scheme_id == scheme_id]
    return out


def _activities(db: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each activity's window (ActivityCreated) and its cancellation, if any."""
    found: dict[int, dict[str, Any]] = {}
    for e in _by_refs(db, {f"activity:{i}" for i in ids}, ("ActivityCreated", "ActivityCancelled")):
        a = json.loads(e.args)
        entry = found.setdefault(int(a["activityId"]), {})
        if e.event == "ActivityCreated":
            entry.update(start=int(a["start"]), end=int(a["end"]), created=_step(e))
        else:
            entry["cancelled"] = _step(e)
    return found


# --- the rules -------------------------------------------------------------------------------------


def _burst(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    days: dict[tuple[int, str, date], list[ChainRecord]] = defaultdict(list)
    for r in records:
        if r.submitted is not None:
            days[(r.scheme_id, r.volunteer, _service_day(r.start))].append(r)
    findings = []
    for (scheme_id, volunteer, day), rs in sorted(days.items()):
        seconds = sum(max(r.end - r.start, 0) for r in rs)
        if len(rs) <= t.burst_records and seconds <= t.burst_hours * 3_600:
            continue
        rs.sort(key=lambda r: (r.start, r.ref))
        findings.append(
            Finding(
                rule="burst",
                message=(
                    f"{len(rs)} records, {seconds / 3_600:g} hours of service of {volunteer} on "
                    f"{day} (more than {t.burst_records} records or {t.burst_hours} hours a day)"
                ),
                scheme_id=scheme_id,
                accounts=(volunteer,),
                records=tuple(r.ref for r in rs),
                evidence=tuple(
                    r.submitted.evidence(  # type: ignore[union-attr]
                        f"{r.ref} submitted: service {_cst(r.start)}-{_cst(r.end)}"
                    )
                    for r in rs
                ),
            )
        )
    return findings


def _service_day(timestamp: int) -> date:
    """The day (China Standard Time) a service starting at `timestamp` counts on, as the
    ledger's daily caps count it (contracts/utils/ServiceTime.sol)."""
    return datetime.fromtimestamp(timestamp, CST).date()


def _cst(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, CST).strftime("%Y-%m-%d %H:%M")


def _evidence_reuse(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
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
                scheme_id=rs[0].scheme_id if len({r.scheme_id for r in rs}) == 1 else None,
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


def _collusion(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    edges: dict[tuple[str, str], list[ChainRecord]] = defaultdict(list)
    for r in records:
        if r.approved is None:
            continue
        for reviewer in dict.fromkeys(r.approvers):
            if reviewer != r.volunteer:
                edges[(reviewer, r.volunteer)].append(r)
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    findings = []
    for ring in _cycles(graph, t.ring_max_length):
        pairs = list(zip(ring, ring[1:] + ring[:1], strict=True))
        rs = [r for p in pairs for r in edges[p]]
        shown = " -> ".join([*ring, ring[0]])
        kind = "approve each other" if len(ring) == 2 else "approve each other in a ring"
        findings.append(
            Finding(
                rule="collusion",
                message=f"{len(ring)} accounts {kind}: {shown} (reviewer -> volunteer)",
                scheme_id=rs[0].scheme_id if len({r.scheme_id for r in rs}) == 1 else None,
                accounts=tuple(ring),
                records=tuple(r.ref for r in rs),
                evidence=tuple(
                    r.approved.evidence(f"{r.ref} of {r.volunteer} approved by {r.reviewer}")  # type: ignore[union-attr]
                    for r in rs
                ),
            )
        )
    for (reviewer, volunteer), rs in edges.items():
        if len(rs) >= t.pair_max_approvals:
            findings.append(
                Finding(
                    rule="collusion",
                    message=(
                        f"{reviewer} approved {len(rs)} records of {volunteer} "
                        f"({t.pair_max_approvals} or more)"
                    ),
                    scheme_id=rs[0].scheme_id if len({r.scheme_id for r in rs}) == 1 else None,
                    accounts=(reviewer, volunteer),
                    records=tuple(r.ref for r in rs),
                    evidence=tuple(r.approved.evidence(f"{r.ref} approved") for r in rs),  # type: ignore[union-attr]
                )
            )
    return findings


def _cycles(graph: dict[str, set[str]], longest: int) -> list[list[str]]:
    """Simple cycles of up to `longest` nodes, each once (starting at its smallest node)."""
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start and len(path) >= 2:
                found.append(list(path))
            elif nxt > start and nxt not in path and len(path) < longest:
                walk(start, nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return found


def _outside_window(
    records: list[ChainRecord], activities: dict[int, dict[str, Any]]
) -> list[Finding]:
    findings = []
    for r in records:
        a = activities.get(r.activity_id)
        if not r.activity_id or a is None or "start" not in a:
            continue
        steps = [s for s in (r.submitted, r.approved) if s is not None]
        if r.start < a["start"] or r.end > a["end"]:
            findings.append(
                Finding(
                    rule="outside_window",
                    message=(
                        f"{r.ref}: service {r.start}-{r.end} is outside activity {r.activity_id}'s "
                        f"window {a['start']}-{a['end']}"
                    ),
                    scheme_id=r.scheme_id,
                    accounts=(r.volunteer,),
                    records=(r.ref,),
                    evidence=(
                        a["created"].evidence(f"activity {r.activity_id} created"),
                        *(s.evidence(f"{r.ref}") for s in steps),
                    ),
                )
            )
        cancelled = a.get("cancelled")
        if (
            cancelled is not None
            and r.approved is not None
            and ((r.approved.block, r.approved.timestamp) >= (cancelled.block, cancelled.timestamp))
        ):
            findings.append(
                Finding(
                    rule="outside_window",
                    message=f"{r.ref} was approved after activity {r.activity_id} was cancelled",
                    scheme_id=r.scheme_id,
                    accounts=(r.volunteer, r.reviewer or ""),
                    records=(r.ref,),
                    evidence=(
                        cancelled.evidence(f"activity {r.activity_id} cancelled"),
                        r.approved.evidence(f"{r.ref} approved"),
                    ),
                )
            )
    return findings


def _fast_review(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    findings = []
    approvals: dict[str, list[ChainRecord]] = defaultdict(list)
    seen_batches: set[str] = set()
    for r in records:
        if r.approved is None or r.submitted is None:
            continue
        unit = r.ref.split("#")[0]  # a batch is reviewed once, as a whole
        if unit in seen_batches:
            continue
        seen_batches.add(unit)
        approvals[r.reviewer or ""].append(r)
        took = r.approved.timestamp - r.submitted.timestamp
        if took < t.min_review_seconds:
            findings.append(
                Finding(
                    rule="fast_review",
                    message=(
                        f"{unit} approved by {r.reviewer} {took} s after it was submitted "
                        f"(under {t.min_review_seconds} s)"
                    ),
                    scheme_id=r.scheme_id,
                    accounts=(r.reviewer or "",),
                    records=(unit,),
                    evidence=(
                        r.submitted.evidence(f"{unit} submitted"),
                        r.approved.evidence(f"{unit} approved"),
                    ),
                )
            )
    for reviewer, rs in approvals.items():
        rs.sort(key=lambda r: (r.approved.block, r.approved.timestamp))  # type: ignore[union-attr]
        run: list[ChainRecord] = []
        upcoming: list[ChainRecord | None] = [*rs, None]
        for nxt in upcoming:
            if (
                nxt is not None
                and run
                and (
                    nxt.approved.timestamp - run[-1].approved.timestamp < t.min_review_seconds  # type: ignore[union-attr]
                )
            ):
                run.append(nxt)
                continue
            if len(run) >= t.fast_run:
                units = [x.ref.split("#")[0] for x in run]
                findings.append(
                    Finding(
                        rule="fast_review",
                        message=(
                            f"{reviewer} approved {len(run)} records or batches in a row, each "
                            f"under {t.min_review_seconds} s after the one before"
                        ),
                        scheme_id=run[0].scheme_id
                        if len({x.scheme_id for x in run}) == 1
                        else None,
                        accounts=(reviewer,),
                        records=tuple(units),
                        evidence=tuple(
                            x.approved.evidence(f"{u} approved")  # type: ignore[union-attr]
                            for x, u in zip(run, units, strict=True)
                        ),
                    )
                )
            run = [nxt] if nxt is not None else []
    return findings


def _registration_burst(events: list[IndexEvent], t: AnomalyThresholds) -> list[Finding]:
    groups: dict[str, list[IndexEvent]] = defaultdict(list)
    for e in events:
        groups[_address(json.loads(e.args)["registrar"])].append(e)
    findings = []
    for registrar, es in groups.items():
        es.sort(key=lambda e: (e.timestamp, e.block_number, e.log_index))
        i = 0
        while i < len(es):
            j = i
            while j + 1 < len(es) and (
                es[j + 1].timestamp - es[i].timestamp < t.registrations_window_seconds
            ):
                j += 1
            if j - i + 1 > t.registrations_max:
                run = es[i : j + 1]
                findings.append(
                    Finding(
                        rule="registration_burst",
                        message=(
                            f"{registrar} registered {len(run)} members within "
                            f"{run[-1].timestamp - run[0].timestamp} s (more than "
                            f"{t.registrations_max} in {t.registrations_window_seconds} s)"
                        ),
                        scheme_id=None,
                        accounts=(registrar,),
                        records=(),
                        evidence=tuple(
                            _step(e).evidence(
                                f"{_address(json.loads(e.args)['member'])} registered"
                            )
                            for e in run
                        ),
                    )
                )
                i = j + 1
            else:
                i += 1
    return findings
