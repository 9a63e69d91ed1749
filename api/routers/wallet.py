"""Volunteers' wallet: balances, the catalogue and orders. A member acts for themselves, or a
community worker recorded on chain as their proxy acts for them."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CallerDep, IdPath, ServicesDep, acting_for, reading_for
from api.schemas import Hex
from api.writes import SignedBody, WriteDep
from ledger.chain.tx import Signer
from ledger.errors import RecordNotFound
from ledger.spending.catalogue import MAX_QUANTITY, item_data, order_data
from ledger.spending.controls import SchemeBalance

router = APIRouter(prefix="/v1", tags=["wallet"])

MAX_LIST = 500


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


class ItemPublic(BaseModel):
    id: int
    scheme: str
    merchant: str
    price: int
    stock: int
    per_member: int
    available_from: str
    available_until: str
    collection_period_seconds: int
    delisted: bool
    details_hash: Hex
    details: dict[str, Any]


class OrderPublic(BaseModel):
    id: int
    item: int
    item_name: str
    scheme: str
    member: str
    quantity: int
    points: int
    hold: int
    status: str
    expires_at: str
    fulfilment_hash: Hex | None


class RedeemCreate(SignedBody):
    item_id: int = Field(ge=1, le=2**63)
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY)
    unit_price: int = Field(ge=0, le=2**88 - 1, description="the price the member was shown")


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
    return HistoryPublic(
        member=member,
        entries=[MovementPublic.model_validate(e, from_attributes=True) for e in page.entries],
        next_cursor=page.next_cursor,
        indexed_block=page.indexed_block,
        chain_head=page.chain_head,
        blocks_behind=page.blocks_behind,
        final_block=page.final_block,
    )


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


@router.get("/catalogue/items", response_model=list[ItemPublic], tags=["catalogue"])
def catalogue_items(
    services: ServicesDep,
    scheme: Annotated[str | None, Query(max_length=32)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[ItemPublic]:
    """Listed items, newest first (public: anyone may browse)."""
    views = services.ledger.catalogue.items(scheme=scheme, last=last)
    return [ItemPublic(**item_data(v)) for v in views]


@router.get("/catalogue/items/{item_id}", response_model=ItemPublic, tags=["catalogue"])
def catalogue_item(item_id: IdPath, services: ServicesDep) -> ItemPublic:
    return ItemPublic(**item_data(services.ledger.catalogue.item(item_id)))


@router.post(
    "/members/{address}/orders", response_model=OrderPublic, status_code=201, tags=["catalogue"]
)
def redeem(address: str, body: RedeemCreate, caller: CallerDep, write: WriteDep) -> object:
    """Redeem an item at the price shown: the points are held until the merchant hands it over."""
    member = acting_for(write.services, caller, address)
    catalogue = write.services.ledger.catalogue
    request_key = f"api:{caller.address}:{write.key}" if write.key else None

    def place(signer: Signer) -> OrderPublic:
        view = catalogue.redeem(
            signer=signer,
            member=member,
            item_id=body.item_id,
            quantity=body.quantity,
            unit_price=body.unit_price,
            request_key=request_key,
        )
        return OrderPublic(**order_data(view))

    return write.run(place, body=body, status_code=201)


@router.get("/members/{address}/orders", response_model=list[OrderPublic], tags=["catalogue"])
def orders(
    address: str,
    caller: CallerDep,
    services: ServicesDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[OrderPublic]:
    member = reading_for(services, caller, address)
    views = services.ledger.catalogue.orders(member=member, status=status, last=last)
    return [OrderPublic(**order_data(v)) for v in views]


@router.post(
    "/members/{address}/orders/{order_id}/cancel", response_model=OrderPublic, tags=["catalogue"]
)
def cancel_order(
    address: str, order_id: IdPath, body: SignedBody, caller: CallerDep, write: WriteDep
) -> object:
    """Cancel a held order: the points return to the member."""
    member = acting_for(write.services, caller, address)
    catalogue = write.services.ledger.catalogue
    order = catalogue.order(order_id)
    if order.order.member != member:
        raise RecordNotFound(f"{member} has no order {order_id}")
    return write.run(
        lambda signer: OrderPublic(
            **order_data(catalogue.cancel(account=signer, order_id=order_id))
        ),
        body=body,
    )
