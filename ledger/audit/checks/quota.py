"""Quota use per period (``quota_use``): the points a scheme issued in each quota window, from the
index's issuance events, each against the quota in force, and the current window checked against
the chain's own count."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col

from ledger.audit.index.bounds import behind, moment
from ledger.audit.index.queries import IndexQueries, events_naming
from ledger.audit.needs import AuditSource
from ledger.chain.contracts import Scheme
from ledger.errors import InputError
from ledger.store.index import IndexEvent

#: The most quota periods one answer holds (ask for a narrower time range beyond it).
MAX_QUOTA_PERIODS = 1_000
_ISSUANCE_EVENTS = ("PointsIssued", "PointsIssuedInBatch", "PointsCorrected")
_QUOTA_EVENTS = ("SchemeAdded", "SchemeQuotaChanged")


@dataclass(frozen=True)
class QuotaPeriod:
    """Points issued in one quota window of a scheme, against the quota in force at its end."""

    period: int
    start: datetime
    end: datetime
    quota: int
    issued: int
    #: Records paid singly, records paid in batches, and positive corrections in the window.
    records: int
    batch_records: int
    corrections: int
    #: The part of the quota used, in per cent (two decimals).
    used_percent: float


@dataclass(frozen=True)
class QuotaUse:
    scheme_id: int
    scheme: str
    quota: int
    quota_period_seconds: int
    periods: tuple[QuotaPeriod, ...]
    #: The chain's own count for the current window (``quotaUsed``) and what is left of it.
    chain_current_period: int
    chain_quota_used: int
    chain_remaining: int
    findings: tuple[str, ...]
    indexed_block: int
    blocks_behind: int


def quota_use(
    ledger: AuditSource,
    index: IndexQueries,
    scheme: str | int,
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> QuotaUse:
    """Points a scheme issued per quota window between `since` and `until` (block times, default:
    the last 12 windows; a text or a datetime without a zone is China Standard Time, as
    ``parse_time`` reads it), from the index's issuance events, each against the quota in force.
    Every window the range touches is counted whole, and the current window is checked against
    the chain's own count whether or not the range reaches it. InputError for a range over
    ``MAX_QUOTA_PERIODS`` windows."""
    s = ledger.scheme(scheme)
    indexed, head = index.synced()
    lo, hi = moment(since, "since"), moment(until, "until")
    points = ledger.points.contract.functions
    current = int(points.currentPeriod(s.id).call(block_identifier=indexed))
    used = int(points.quotaUsed(s.id).call(block_identifier=indexed))
    remaining = int(points.remainingQuota(s.id).call(block_identifier=indexed))
    with Session(index.engine) as db:
        timeline = _quota_timeline(db, s.id, indexed)
        period_seconds = timeline[-1][2] if timeline else s.quota_period
        hi = int(ledger.w3.eth.get_block(indexed)["timestamp"]) if hi is None else hi
        lo = hi - 12 * period_seconds + 1 if lo is None else lo
        if lo > hi:
            raise InputError("since is after until: nothing can match; swap them")
        shortest = min([period_seconds, *(t[2] for t in timeline)])
        if (hi - lo) // shortest + 1 > MAX_QUOTA_PERIODS:
            raise InputError(
                f"that range spans more than {MAX_QUOTA_PERIODS} quota periods of "
                f"{shortest} s; ask for a shorter range",
                max_periods=MAX_QUOTA_PERIODS,
            )
        windows = _issuance_windows(db, s, timeline, indexed, lo, hi)
        first_second = current * period_seconds
        mine = windows.get((period_seconds, current)) or _issuance_windows(
            db, s, timeline, indexed, first_second, first_second + period_seconds - 1
        ).get((period_seconds, current))
    findings = []
    # A change of the quota period carries the use of the window it cut into (the chain's
    # _quotaWindow): the index's sum is only comparable when the period has not changed lately.
    changed_lately = len(timeline) > 1 and timeline[-1][3] > (current - 1) * period_seconds
    if not changed_lately and (mine["issued"] if mine else 0) != used:
        findings.append(
            f"the chain counts {used} points issued in the current window ({current}), the "
            f"index {mine['issued'] if mine else 0}"
        )
    over = [p for (sec, p), w in windows.items() if w["issued"] > w["quota"]]
    if over:
        findings.append(f"more issued than the quota in window(s) {', '.join(map(str, over))}")
    periods = tuple(
        QuotaPeriod(
            period=p,
            start=datetime.fromtimestamp(p * sec, UTC),
            end=datetime.fromtimestamp(p * sec + sec, UTC),
            quota=w["quota"],
            issued=w["issued"],
            records=w["records"],
            batch_records=w["batch"],
            corrections=w["corrections"],
            used_percent=round(100 * w["issued"] / w["quota"], 2) if w["quota"] else 0.0,
        )
        for (sec, p), w in sorted(windows.items(), key=lambda kv: kv[0][1] * kv[0][0])
    )
    return QuotaUse(
        scheme_id=s.id,
        scheme=s.code,
        quota=timeline[-1][1] if timeline else s.quota,
        quota_period_seconds=period_seconds,
        periods=periods,
        chain_current_period=current,
        chain_quota_used=used,
        chain_remaining=remaining,
        findings=tuple(findings),
        indexed_block=indexed,
        blocks_behind=behind(indexed, head),
    )


def _issuance_windows(
    db: Session,
    s: Scheme,
    timeline: list[tuple[int, int, int, int]],
    indexed: int,
    lo: int,
    hi: int,
) -> dict[tuple[int, int], dict[str, int]]:
    """The issuance of every quota window that overlaps [lo, hi] (block times), counted whole:
    {(window seconds, window): {quota, issued, records, batch, corrections}}."""
    longest = max([s.quota_period, *(t[2] for t in timeline)])
    rows = db.exec(
        events_naming(f"scheme:{s.id}")
        .where(col(IndexEvent.event).in_(_ISSUANCE_EVENTS))
        .where(col(IndexEvent.block_number) <= indexed)
        .where(col(IndexEvent.timestamp) > lo - longest)
        .where(col(IndexEvent.timestamp) < hi + longest)
        .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
        .execution_options(yield_per=5_000)
    )
    windows: dict[tuple[int, int], dict[str, int]] = {}
    for e in rows:
        args = json.loads(e.args)
        quota, seconds = _terms_at(timeline, e.block_number, s)
        if e.event == "PointsCorrected":
            amount = int(args["delta"])
            if amount <= 0:
                continue  # taken back: the quota is not given back
            period = e.timestamp // seconds
        else:
            amount, period = int(args["amount"]), int(args["period"])
        if period * seconds + seconds - 1 < lo or period * seconds > hi:
            continue
        w = windows.setdefault(
            (seconds, period),
            {"quota": quota, "issued": 0, "records": 0, "batch": 0, "corrections": 0},
        )
        w["quota"] = quota  # the quota in force at the window's latest issuance
        w["issued"] += amount
        if e.event == "PointsIssued":
            w["records"] += 1
        elif e.event == "PointsIssuedInBatch":
            w["batch"] += int(args["count"])
        else:
            w["corrections"] += 1
    return windows


def _quota_timeline(db: Session, scheme_id: int, indexed: int) -> list[tuple[int, int, int, int]]:
    """(block, quota, quota period, block time) of each setting of the scheme's quota, oldest
    first."""
    rows = db.exec(
        events_naming(f"scheme:{scheme_id}")
        .where(col(IndexEvent.event).in_(_QUOTA_EVENTS))
        .where(col(IndexEvent.block_number) <= indexed)
        .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
    )
    out = []
    for e in rows:
        args = json.loads(e.args)
        out.append((e.block_number, int(args["quota"]), int(args["quotaPeriod"]), e.timestamp))
    return out


def _terms_at(timeline: list[tuple[int, int, int, int]], block: int, s: Scheme) -> tuple[int, int]:
    """The (quota, period seconds) in force at `block`."""
    terms = (s.quota, s.quota_period)
    for at, quota, seconds, _ in timeline:
        if at > block:
            break
        terms = (quota, seconds)
    return terms


def quota_data(q: QuotaUse) -> dict[str, Any]:
    return {
        "scheme": q.scheme,
        "scheme_id": q.scheme_id,
        "quota": q.quota,
        "quota_period_seconds": q.quota_period_seconds,
        "periods": [asdict(p) for p in q.periods],
        "chain": {
            "current_period": q.chain_current_period,
            "quota_used": q.chain_quota_used,
            "remaining": q.chain_remaining,
        },
        "findings": list(q.findings),
        "indexed_block": q.indexed_block,
        "blocks_behind": q.blocks_behind,
    }
