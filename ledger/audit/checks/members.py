"""A member's file for auditors (``member_file``): their registration and standing on chain now,
balances, where their points came from and went, and the events that name them (by pages). No
personal data: the vault is not read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from ledger.audit.index.pages import EventPage
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.store.index import IndexedScheme, PointMovement
from ledger.values import parse_address


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
    ledger: AuditSource,
    index: IndexQueries,
    address: str,
    *,
    cursor: str | None = None,
    limit: int = 50,
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
