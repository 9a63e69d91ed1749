"""The catalogue for members: anyone browses the listed items; a member redeems one at the price
shown (the points are held until the merchant hands it over), reads and cancels their orders. A
member acts for themselves, or a community worker recorded on chain as their proxy acts for them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, IdPath, ServicesDep, acting_for, reading_for
from api.schemas import MAX_LIST, Hex
from api.writes import SignedBody, WriteDep
from ledger.chain.tx import Signer
from ledger.errors import RecordNotFound
from ledger.spending.catalogue import order_data
from ledger.spending.items import MAX_QUANTITY, item_data

router = APIRouter(prefix="/v1", tags=["wallet", "catalogue"])


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
    created: bool | None = Field(
        None, description="after listing: false when the same details were already listed"
    )


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


@router.get("/catalogue/items", response_model=list[ItemPublic])
def catalogue_items(
    services: ServicesDep,
    scheme: Annotated[str | None, Query(max_length=32)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[ItemPublic]:
    """Listed items, newest first (public: anyone may browse)."""
    views = services.ledger.catalogue.items(scheme=scheme, last=last)
    return [ItemPublic(**item_data(v)) for v in views]


@router.get("/catalogue/items/{item_id}", response_model=ItemPublic)
def catalogue_item(item_id: IdPath, services: ServicesDep) -> ItemPublic:
    return ItemPublic(**item_data(services.ledger.catalogue.item(item_id)))


@router.post("/members/{address}/orders", response_model=OrderPublic, status_code=201)
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


@router.get("/members/{address}/orders", response_model=list[OrderPublic])
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


@router.post("/members/{address}/orders/{order_id}/cancel", response_model=OrderPublic)
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
