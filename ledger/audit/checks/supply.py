"""A scheme's supply, on chain and by the index.

``reconcile`` compares, for one scheme at one block, what the PointsLedger's own counters say
(issued + minted - burned = total supply, part of it held) with what the index's movements add
up to (points created from the zero address, destroyed to it, and where the rest sits: members,
funds, the ledger's holds). The chain is the source of truth: the counters are read at that block
with ``eth_call``, the index is only ever asked about blocks it holds, and any difference is
reported as a finding with the figures on both sides. ``supply_series`` is the supply per hour or
day, from the index's movements.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.audit.index.bounds import ZERO_ADDRESS, behind, beyond_index, moment
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.errors import InputError
from ledger.store.index import PointMovement


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
    ledger: AuditSource, index: IndexQueries, scheme: str | int, *, block: int | None = None
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
        raise beyond_index(at, indexed, head)
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
            if source == ZERO_ADDRESS:
                created += amount
            else:
                balances[source] -= amount
            if target == ZERO_ADDRESS:
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
    ledger: AuditSource,
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
    lo, hi = moment(since, "since"), moment(until, "until")
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
                    (col(PointMovement.from_address) == ZERO_ADDRESS)
                    | (col(PointMovement.to_address) == ZERO_ADDRESS)
                )
                .where(col(PointMovement.block_number) <= indexed)
                .order_by(col(PointMovement.block_number), col(PointMovement.log_index))
                .execution_options(yield_per=5_000)
            )
        )
    first = rows[0][0] if rows else None
    start = lo if lo is not None else first
    if start is None:
        return SupplySeries(s.code, s.id, bucket, (), indexed, behind(indexed, head))
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
            total += value if source == ZERO_ADDRESS else -value
            continue
        if b > last_bucket:
            break
        if source == ZERO_ADDRESS:
            created[b] += value
        if target == ZERO_ADDRESS:
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
    return SupplySeries(s.code, s.id, bucket, tuple(points), indexed, behind(indexed, head))
