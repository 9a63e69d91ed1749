"""Off-chain halves of the redemption catalogue: item details (whose hash is on chain) and the
redemption requests that make a repeated `redeem` return the order already placed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime
from ledger.store.pending import HashedDetails


class CatalogueItemDetails(HashedDetails, table=True):
    """An item's name, description, merchant name and place (兑换物品/服务), hashed on chain."""

    __tablename__ = "catalogue_item_details"

    #: The on-chain id once the item is listed (None while the transaction is under way).
    item_id: int | None = Field(default=None, unique=True, index=True)
    merchant: str = Field(index=True)
    #: The chain head when the listing was first tried: an interrupted run looks for it from here.
    from_block: int


class RedemptionRequest(SQLModel, table=True):
    """One request to redeem, under the caller's request key: asked again, it returns its order."""

    __tablename__ = "catalogue_redemption"

    id: int | None = Field(default=None, primary_key=True)
    request_key: str = Field(unique=True, index=True)
    member: str = Field(index=True)
    item_id: int = Field(index=True)
    quantity: int
    unit_price: int
    signer: str
    from_block: int
    order_id: int | None = Field(default=None, unique=True, index=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
