"""The merchant's side of the catalogue: a scheme's merchants list items for points, change or
delist them, and fulfil the orders (the held points are burned)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import (
    MERCHANTS,
    CallerDep,
    IdPath,
    ServicesDep,
    require_scheme_staff,
    require_staff_of_any,
)
from api.routers.spending.catalogue import ItemPublic, OrderPublic
from api.schemas import MAX_LIST, SchemeCode, Text, Time, given_time
from api.services import Services
from api.writes import SignedBody, WriteDep
from ledger.chain.tx import Signer
from ledger.identity.auth import Caller
from ledger.spending.catalogue import order_data
from ledger.spending.items import (
    DEFAULT_COLLECTION_PERIOD,
    MAX_COLLECTION_PERIOD,
    MAX_POINTS,
    MAX_STOCK,
    item_data,
)

router = APIRouter(prefix="/v1/issuer", tags=["issuer", "catalogue"])


class ItemCreate(SignedBody):
    scheme: SchemeCode
    kind: str = Field(max_length=16, description="gift, ticket or service")
    name: Text
    description: Text
    merchant_name: Text
    place: Text
    price: int = Field(ge=0, le=MAX_POINTS)
    stock: int = Field(ge=0, le=MAX_STOCK)
    per_member: int = Field(1, ge=1, le=MAX_STOCK)
    available_from: Time
    available_until: Time
    collection_period_seconds: int = Field(
        DEFAULT_COLLECTION_PERIOD, ge=1, le=MAX_COLLECTION_PERIOD
    )


class ItemUpdate(SignedBody):
    price: int | None = Field(None, ge=0, le=MAX_POINTS)
    stock: int | None = Field(None, ge=0, le=MAX_STOCK)
    per_member: int | None = Field(None, ge=1, le=MAX_STOCK)
    available_from: Time | None = None
    available_until: Time | None = None


class Fulfilment(SignedBody):
    code: str = Field(min_length=1, max_length=200, description="the ticket or pick-up code")


def _item_staff(services: Services, caller: Caller, item_id: int) -> None:
    item = services.ledger.catalogue.item(item_id)
    require_scheme_staff(services, caller, item.item.scheme_id, MERCHANTS)


@router.post("/catalogue/items", response_model=ItemPublic, status_code=201)
def list_item(body: ItemCreate, caller: CallerDep, write: WriteDep) -> object:
    """List an item for points (a merchant of the scheme)."""
    s = require_scheme_staff(write.services, caller, body.scheme, MERCHANTS)

    def add(signer: Signer) -> ItemPublic:
        view = write.services.ledger.catalogue.add_item(
            merchant=signer,
            scheme=s.id,
            kind=body.kind,
            name=body.name,
            description=body.description,
            merchant_name=body.merchant_name,
            place=body.place,
            price=body.price,
            stock=body.stock,
            per_member=body.per_member,
            available_from=given_time(body.available_from),
            available_until=given_time(body.available_until),
            collection_period=body.collection_period_seconds,
        )
        return ItemPublic(**item_data(view))

    return write.run(add, body=body, status_code=201)


@router.put("/catalogue/items/{item_id}", response_model=ItemPublic)
def update_item(item_id: IdPath, body: ItemUpdate, caller: CallerDep, write: WriteDep) -> object:
    """Change an item's price, stock, per-member limit or window (its merchant)."""
    _item_staff(write.services, caller, item_id)

    def update(signer: Signer) -> ItemPublic:
        view = write.services.ledger.catalogue.update_item(
            merchant=signer,
            item_id=item_id,
            price=body.price,
            stock=body.stock,
            per_member=body.per_member,
            available_from=given_time(body.available_from) if body.available_from else None,
            available_until=given_time(body.available_until) if body.available_until else None,
        )
        return ItemPublic(**item_data(view))

    return write.run(update, body=body)


@router.post("/catalogue/items/{item_id}/delist", response_model=ItemPublic)
def delist_item(item_id: IdPath, body: SignedBody, caller: CallerDep, write: WriteDep) -> object:
    """Take an item off the catalogue (its merchant, or the scheme's issuer)."""
    _item_staff(write.services, caller, item_id)
    return write.run(
        lambda signer: ItemPublic(
            **item_data(
                write.services.ledger.catalogue.delist_item(account=signer, item_id=item_id)
            )
        ),
        body=body,
    )


@router.get("/catalogue/orders", response_model=list[OrderPublic])
def merchant_orders(
    caller: CallerDep,
    services: ServicesDep,
    item: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[OrderPublic]:
    """Orders of the caller's items (or of one of them), newest first: a merchant of the items'
    schemes or their issuer (an item's orders: its scheme's merchants and issuer)."""
    schemes = require_staff_of_any(services, caller, MERCHANTS)
    if item is not None:
        _item_staff(services, caller, item)
        views = services.ledger.catalogue.orders(item_id=item, status=status, last=last)
    else:
        views = services.ledger.catalogue.orders(merchant=caller.address, status=status, last=last)
        views = [v for v in views if v.item.item.scheme_id in schemes]
    return [OrderPublic(**order_data(v)) for v in views]


@router.post("/catalogue/orders/{order_id}/fulfil", response_model=OrderPublic)
def fulfil_order(order_id: IdPath, body: Fulfilment, caller: CallerDep, write: WriteDep) -> object:
    """Hand the item over: the held points are burned, the code's hash recorded (its merchant)."""
    catalogue = write.services.ledger.catalogue
    order = catalogue.order(order_id)
    require_scheme_staff(write.services, caller, order.item.item.scheme_id, MERCHANTS)
    return write.run(
        lambda signer: OrderPublic(
            **order_data(catalogue.fulfil(merchant=signer, order_id=order_id, code=body.code))
        ),
        body=body,
    )
