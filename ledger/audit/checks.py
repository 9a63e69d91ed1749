"""Auditors' checks over the chain and the event index.

``reconcile`` compares, for one scheme at one block, what the PointsLedger's own counters say
(issued + minted - burned = total supply, part of it held) with what the index's movements add
up to (points created from the zero address, destroyed to it, and where the rest sits: members,
funds, the ledger's holds). The chain is the source of truth: the counters are read at that block
with ``eth_call``, the index is only ever asked about blocks it holds, and any difference is
reported as a finding with the figures on both sides.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from ledger.audit.queries import EventPage, events_naming
from ledger.errors import IndexBehind, InputError, RecordNotFound
from ledger.store.index import IndexedScheme, IndexEvent, PointMovement
from ledger.values import parse_address, parse_time

if TYPE_CHECKING:
    from ledger.audit.queries import IndexQueries
    from ledger.chain.contracts import Scheme
    from ledger.ledger import Ledger

ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class Reconciliation:
    scheme_id: int
    scheme: str
    block: int
    #: The PointsLedger's counters at `block`.
    issued: int
    minted: int
    burned: int
    total_supply: int
    held: int
    #: What the index's movements up to `block` add up to.
    created: int
    destroyed: int
    in_accounts: int
    in_holds: int
    #: Accounts holding points at `block`, by the index.
    holders: int
    #: Each difference found, said plainly; empty when everything agrees.
    findings: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        return not self.findings


def reconcile(
    ledger: Ledger, index: IndexQueries, scheme: str | int, *, block: int | None = None
) -> Reconciliation:
    """Supply of `scheme` at `block` (default: the block the index holds), on chain and by the
    index; InputError for a block before the deployment, IndexBehind past the indexed block.

    The counters exist from the block the PointsLedger was created in (the deployment's first
    block is the Forwarder's, a few blocks earlier): before it there is no contract to ask."""
    s = ledger.scheme(scheme)
    indexed, head = index.synced()
    at = indexed if block is None else block
    deployed = ledger.manifest.contracts["PointsLedger"].block
    if isinstance(at, bool) or not isinstance(at, int) or at < deployed:
        raise InputError(
            f"block {block!r} is before the deployment: the points ledger was deployed at block "
            f"{deployed}; ask about block {deployed} or later",
            block=block,
            deployment_block=deployed,
        )
    if at > indexed:
        raise IndexBehind(
            f"the index holds the chain up to block {indexed}, not {at}: wait for it to catch up "
            f"({head - indexed} blocks behind at its last sync) or ask about an earlier block",
            indexed_block=indexed,
            chain_head=head,
            blocks_behind=max(head - indexed, 0),
        )
    points = ledger.points.contract.functions
    issued = int(points.issued(s.id).call(block_identifier=at))
    minted = int(points.minted(s.id).call(block_identifier=at))
    burned = int(points.burned(s.id).call(block_identifier=at))
    total = int(points.totalSupply(s.id).call(block_identifier=at))
    held = int(points.heldTotal(s.id).call(block_identifier=at))

    ledger_address = ledger.points.address.lower()
    balances: dict[str, int] = defaultdict(int)
    created = destroyed = 0
    with Session(index.engine) as db:
        rows = db.exec(
            select(PointMovement.from_address, PointMovement.to_address, PointMovement.amount)
            .where(col(PointMovement.scheme_id) == s.id)
            .where(col(PointMovement.block_number) <= at)
            .execution_options(yield_per=5_000)
        )
        for source, target, amount_text in rows:
            amount = int(amount_text)
            if source == ZERO:
                created += amount
            else:
                balances[source] -= amount
            if target == ZERO:
                destroyed += amount
            else:
                balances[target] += amount
    in_holds = balances.pop(ledger_address, 0)
    in_accounts = sum(balances.values())
    findings = []
    if issued + minted - burned != total:
        findings.append(
            f"on chain, issued {issued} + minted {minted} - burned {burned} is not the total "
            f"supply {total}"
        )
    if created != issued + minted:
        findings.append(
            f"the index saw {created} points created, the chain counts {issued + minted}"
        )
    if destroyed != burned:
        findings.append(f"the index saw {destroyed} points destroyed, the chain counts {burned}")
    if in_holds != held:
        findings.append(f"the index puts {in_holds} points in holds, the chain {held}")
    if in_accounts + in_holds != total:
        findings.append(
            f"accounts ({in_accounts}) and holds ({in_holds}) by the index are not the total "
            f"supply {total}"
        )
    negative = sorted(a for a, v in balances.items() if v < 0)
    if negative:
        findings.append(f"the index has {len(negative)} accounts below zero, e.g. {negative[0]}")
    return Reconciliation(
        scheme_id=s.id,
        scheme=s.code,
        block=at,
        issued=issued,
        minted=minted,
        burned=burned,
        total_supply=total,
        held=held,
        created=created,
        destroyed=destroyed,
        in_accounts=in_accounts,
        in_holds=in_holds,
        holders=sum(1 for v in balances.values() if v > 0),
        findings=tuple(findings),
    )


def reconciliation_data(r: Reconciliation) -> dict[str, object]:
    """A reconciliation as the CLI and the API show it."""
    return {
        "scheme": r.scheme,
        "scheme_id": r.scheme_id,
        "block": r.block,
        "balanced": r.balanced,
        "chain": {
            "issued": r.issued,
            "minted": r.minted,
            "burned": r.burned,
            "total_supply": r.total_supply,
            "held": r.held,
        },
        "index": {
            "created": r.created,
            "destroyed": r.destroyed,
            "in_accounts": r.in_accounts,
            "in_holds": r.in_holds,
            "holders": r.holders,
        },
        "findings": list(r.findings),
    }


# --- quota use per period ----------------------------------------------------------------------

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
    ledger: Ledger,
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
    lo, hi = _moment(since, "since"), _moment(until, "until")
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
        blocks_behind=max(head - indexed, 0),
    )


def _moment(value: str | datetime | None, what: str) -> int | None:
    """A Unix time from what the CLI and the API are given (no zone: China Standard Time)."""
    return None if value is None else parse_time(value, what=what)


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


# --- a member's whole record, for auditors -------------------------------------------------------


@dataclass(frozen=True)
class MemberFile:
    """What the chain says about one account: its registration and standing, balances, and
    every event that names it (a page of the index, newest first)."""

    address: str
    status: str
    registrar: str | None
    registered_at: int
    frozen_reason: int
    successor: str | None
    balances: dict[str, int]
    #: Where the member's points came from and went, per scheme and kind of movement, over the
    #: whole index: {"VOL": {"issued": {"in": 120, "out": 0, "count": 5}, ...}}.
    flows: dict[str, dict[str, dict[str, int]]]
    events: EventPage


def member_file(
    ledger: Ledger, index: IndexQueries, address: str, *, cursor: str | None = None, limit: int = 50
) -> MemberFile:
    """A member's standing on chain now and the events that name them (newest first, by pages);
    no personal data: the vault is not read."""
    account = parse_address(address, what="member address")
    info = ledger.member(account)
    page = index.events(address=account, cursor=cursor, limit=limit)
    flows: dict[str, dict[str, dict[str, int]]] = {}
    me = account.lower()
    with Session(index.engine) as db:
        codes = {r.scheme_id: r.code for r in db.exec(select(IndexedScheme))}
        rows = db.exec(
            select(
                PointMovement.scheme_id,
                PointMovement.kind,
                PointMovement.to_address,
                PointMovement.amount,
            )
            .where((col(PointMovement.from_address) == me) | (col(PointMovement.to_address) == me))
            .where(col(PointMovement.block_number) <= page.indexed_block)
            .execution_options(yield_per=5_000)
        )
        for scheme_id, kind, target, amount in rows:
            entry = flows.setdefault(codes.get(scheme_id, str(scheme_id)), {}).setdefault(
                kind, {"in": 0, "out": 0, "count": 0}
            )
            entry["in" if target == me else "out"] += int(amount)
            entry["count"] += 1
    return MemberFile(
        address=account,
        status=info.status.name.lower(),
        registrar=info.registrar,
        registered_at=info.registered_at,
        frozen_reason=info.frozen_reason,
        successor=info.successor,
        balances={b.scheme.code: b.amount for b in ledger.balances(account) if b.amount},
        flows=flows,
        events=page,
    )


def event_rows(page: EventPage) -> list[dict[str, Any]]:
    """One CSV row per event: where, what, and its arguments as columns."""
    return [
        {
            "block": e.block,
            "timestamp": e.timestamp,
            "tx_hash": e.tx_hash,
            "log_index": e.log_index,
            "contract": e.contract,
            "event": e.event,
            "args": e.args,
        }
        for e in page.entries
    ]


# --- supply over time ------------------------------------------------------------------------------

BUCKETS = {"hour": 3_600, "day": 86_400}
#: The most buckets one series holds (ask for a coarser bucket or a shorter range beyond it).
MAX_BUCKETS = 1_000


@dataclass(frozen=True)
class SupplyPoint:
    start: datetime
    created: int
    destroyed: int
    #: The supply at the end of the bucket.
    total: int


@dataclass(frozen=True)
class SupplySeries:
    scheme: str
    scheme_id: int
    bucket: str
    points: tuple[SupplyPoint, ...]
    indexed_block: int
    blocks_behind: int


def supply_series(
    ledger: Ledger,
    index: IndexQueries,
    scheme: str | int,
    *,
    bucket: str = "day",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> SupplySeries:
    """A scheme's supply per hour or day (CST days: buckets start at 00:00 China Standard Time)
    from the index's movements: points created and destroyed in each bucket and the supply at
    its end. Default range: from the scheme's first movement to the indexed block; more than
    ``MAX_BUCKETS`` buckets is refused; `since` and `until` as ``quota_use`` reads them."""
    if bucket not in BUCKETS:
        raise InputError(f"bucket is hour or day, not {bucket!r}")
    size = BUCKETS[bucket]
    offset = 8 * 3600 if bucket == "day" else 0  # CST midnight
    s = ledger.scheme(scheme)
    indexed, head = index.synced()
    lo, hi = _moment(since, "since"), _moment(until, "until")
    with Session(index.engine) as db:
        rows = list(
            db.exec(
                select(
                    PointMovement.timestamp,
                    PointMovement.from_address,
                    PointMovement.to_address,
                    PointMovement.amount,
                )
                .where(col(PointMovement.scheme_id) == s.id)
                .where(
                    (col(PointMovement.from_address) == ZERO)
                    | (col(PointMovement.to_address) == ZERO)
                )
                .where(col(PointMovement.block_number) <= indexed)
                .order_by(col(PointMovement.block_number), col(PointMovement.log_index))
                .execution_options(yield_per=5_000)
            )
        )
    first = rows[0][0] if rows else None
    start = lo if lo is not None else first
    if start is None:
        return SupplySeries(s.code, s.id, bucket, (), indexed, max(head - indexed, 0))
    end = hi if hi is not None else max(rows[-1][0], start)
    if end < start:
        raise InputError("since is after until: nothing can match; swap them")
    first_bucket = (start + offset) // size
    last_bucket = (end + offset) // size
    if last_bucket - first_bucket + 1 > MAX_BUCKETS:
        raise InputError(
            f"that is {last_bucket - first_bucket + 1} {bucket}s; at most {MAX_BUCKETS} per series: "
            "ask for a shorter range or a coarser bucket",
            max_buckets=MAX_BUCKETS,
        )
    created: dict[int, int] = defaultdict(int)
    destroyed: dict[int, int] = defaultdict(int)
    total = 0
    for timestamp, source, target, amount in rows:
        b = (timestamp + offset) // size
        value = int(amount)
        if b < first_bucket:
            total += value if source == ZERO else -value
            continue
        if b > last_bucket:
            break
        if source == ZERO:
            created[b] += value
        if target == ZERO:
            destroyed[b] += value
    points = []
    for b in range(first_bucket, last_bucket + 1):
        total += created[b] - destroyed[b]
        points.append(
            SupplyPoint(
                start=datetime.fromtimestamp(b * size - offset, UTC),
                created=created[b],
                destroyed=destroyed[b],
                total=total,
            )
        )
    return SupplySeries(s.code, s.id, bucket, tuple(points), indexed, max(head - indexed, 0))


# --- the explorer's search ----------------------------------------------------------------------

_SEARCH_RECORD = re.compile(r"^(?:record|r|#)\s*[:#]?\s*(\d{1,18})$", re.IGNORECASE)
_SEARCH_BATCH = re.compile(r"^(?:batch|b)\s*[:#]?\s*(\d{1,18})$", re.IGNORECASE)
_SEARCH_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class SearchHit:
    #: tx, block, address, record, batch or scheme.
    kind: str
    target: str


def search(ledger: Ledger, index: IndexQueries, query: str) -> SearchHit:
    """What an auditor typed: a transaction hash, a block number, an address, a record
    (``record 12``, ``r12``, ``#12``), a batch (``batch 3``) or a scheme code, checked to exist
    (RecordNotFound or UnknownScheme when not; IndexBehind for a block the index has not read)."""
    q = (query or "").strip()
    indexed, head = index.indexed()
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", q):
        index.events(tx_hash=q.lower(), limit=1)  # RecordNotFound, saying how far the index is
        return SearchHit("tx", q.lower())
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", q):
        return SearchHit("address", parse_address(q))
    if re.fullmatch(r"\d{1,18}", q):
        block = int(q)
        if block > indexed:
            raise IndexBehind(
                f"block {block} is not indexed yet: the index holds blocks up to {indexed} "
                f"({max(head - indexed, 0)} behind the chain)",
                block=block,
                indexed_block=indexed,
                blocks_behind=max(head - indexed, 0),
            )
        return SearchHit("block", str(block))
    if found := _SEARCH_RECORD.match(q):
        ledger.earning.existing(int(found.group(1)))
        return SearchHit("record", found.group(1))
    if found := _SEARCH_BATCH.match(q):
        batch_id = int(found.group(1))
        if not 0 < batch_id <= ledger.records.batch_count():
            raise RecordNotFound(f"there is no batch {batch_id}")
        return SearchHit("batch", str(batch_id))
    if _SEARCH_CODE.match(q):
        return SearchHit("scheme", ledger.scheme(q).code)
    raise InputError(
        f"{q[:80]!r} is not a transaction hash, block number, address, record (record 12), batch "
        "(batch 3) or scheme code",
        query=q[:80],
    )
