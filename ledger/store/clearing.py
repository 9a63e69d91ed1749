"""Off-chain half of inter-issuer settlements: the payment reference whose hash is on chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


class PaymentReference(SQLModel, table=True):
    """An issuer's reference of a payment to another issuer (a transfer number), whose keccak-256
    is a settlement's ``paymentRef``; ``settlement_id`` is set once the chain has the settlement."""

    __tablename__ = "payment_reference"

    id: int | None = Field(default=None, primary_key=True)
    reference_hash: str = Field(index=True, unique=True)
    text: str
    payer_scheme: int
    payee_scheme: int
    amount: int
    settlement_id: int | None = Field(default=None, index=True)
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
