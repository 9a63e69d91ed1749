"""A member's points: balances in every scheme (available, frozen, what expires when) and the
movements behind them. The member reads them, or their recorded proxy, or an auditor."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, reading_for
from api.schemas import MAX_LIST
from ledger.spending.controls import SchemeBalance

router = APIRouter(prefix="/v1", tags=["wallet"])


class ExpiringPublic(BaseModel):
    amount: int
    last_day: date = Field(description="the last day they can be spent (China Standard Time)")
    expires_on: date
    expired: bool


class BalancePublic(BaseModel):
    scheme: str
    scheme_id: int
    name: str
    unit: str
    balance: int
    available: int = Field(description="what can be spent now: less frozen and expired points")
    frozen: int
    expiring: list[ExpiringPublic]


class BalancesPublic(BaseModel):
    member: str
    block: int = Field(description="the chain block the balances were read at")
    balances: list[BalancePublic]


@router.get("/members/{address}/balances", response_model=BalancesPublic)
async def balances(
    address: Annotated[str, Path(max_length=64)],
    caller: CallerDep,
    services: ServicesDep,
    include_empty: Annotated[bool, Query(description="list schemes with nothing too")] = False,
) -> BalancesPublic:
    """Balances in every scheme the member holds points of: available, frozen, what expires when.
    Read from the chain once per new block, from memory until then."""
    if address == caller.address:  # the common case: no I/O to check who may read
        member = address
    else:
        member = await run_in_threadpool(reading_for, services, caller, address)
    fresh = services.fresh_balances(member)
    block, rows = fresh if fresh else await run_in_threadpool(services.balances, member)
    return BalancesPublic(
        member=member,
        block=block,
        balances=[_balance(b) for b in rows if include_empty or b.balance],
    )


class MovementPublic(BaseModel):
    scheme_id: int
    scheme: str | None
    kind: str = Field(description="issued, exchanged, redemption_hold, gift, expired, ...")
    delta: int = Field(description="positive when points came in, negative when they went out")
    counterparty: str
    reference: str | None = Field(description="record:12, order:7, exchange:9, ... if any")
    block: int
    timestamp: datetime
    tx_hash: str
    log_index: int
    final: bool = Field(
        description="false while its block may still be replaced (a validator network's newest "
        "blocks, before the network's confirmations)"
    )


class HistoryPublic(BaseModel):
    member: str
    entries: list[MovementPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")
    indexed_block: int = Field(description="the answer holds the chain up to this block")
    chain_head: int
    blocks_behind: int = Field(description="how far the index was behind the chain")
    final_block: int = Field(description="entries up to this block are final")


@router.get("/members/{address}/history", response_model=HistoryPublic)
async def history(
    address: Annotated[str, Path(max_length=64)],
    caller: CallerDep,
    services: ServicesDep,
    scheme: Annotated[str | None, Query(max_length=32, description="code or id")] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[datetime | None, Query(description="timezone-aware, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="timezone-aware, inclusive")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> HistoryPublic:
    """The member's movements of points, newest first, from the event index (which says up to
    which block it holds the chain and how far behind it is)."""
    if address == caller.address:
        member = address
    else:
        member = await run_in_threadpool(reading_for, services, caller, address)
    query: dict[str, Any] = {
        "scheme": int(scheme) if scheme and scheme.isdigit() else scheme,
        "kind": kind,
        "since": since,
        "until": until,
        "cursor": cursor,
        "limit": limit,
    }
    page = services.cached_history(member, **query)
    if page is None:
        page = await run_in_threadpool(partial(services.history, member, **query))
    return HistoryPublic.model_validate(page, from_attributes=True)


def _balance(b: SchemeBalance) -> BalancePublic:
    return BalancePublic(
        scheme=b.scheme.code,
        scheme_id=b.scheme.id,
        name=b.scheme.name,
        unit=b.scheme.unit,
        balance=b.balance,
        available=b.available,
        frozen=b.frozen,
        expiring=[
            ExpiringPublic(
                amount=e.amount, last_day=e.last_day, expires_on=e.expires_on, expired=e.expired
            )
            for e in b.expiring
        ],
    )
