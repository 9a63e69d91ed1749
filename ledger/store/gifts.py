"""Off-chain halves of gifts and community funds: the texts whose salted hashes are on chain.

A gift's memo, a fund's name and description, a donation's note and a grant's stated purpose stay
here; the chain holds ``keccak256`` of their canonical JSON with a random salt (so a short memo
cannot be guessed from its hash). Each row is written before its transaction is sent, so a run
that is interrupted and started again with the same request id finds what it did.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime
from ledger.store.pending import HashedDetails


class FundDetails(HashedDetails, table=True):
    """A community fund's name and description (unique per scheme), whose hash is on chain."""

    __tablename__ = "fund_details"
    __table_args__ = (UniqueConstraint("scheme_id", "name"),)

    #: The on-chain id once the fund is created (None while the transaction is under way).
    fund_id: int | None = Field(default=None, unique=True, index=True)
    name: str
    details_hash: str = Field(unique=True, index=True)


class GiftEntry(SQLModel, table=True):
    """One gift, donation or grant as requested: its text and, once done, its transaction.

    `request_id` makes a request idempotent: sending it again returns the first outcome.
    `text_hash` is what went on chain (the gift's memo hash, the donation's ref, the grant's
    purpose hash).
    """

    __tablename__ = "gift_entry"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(unique=True, index=True)
    #: gift, donation or grant.
    kind: str = Field(index=True)
    scheme_id: int = Field(index=True)
    fund_id: int | None = Field(default=None, index=True)
    #: The giver, the donating member, or the fund's manager for a grant.
    account: str = Field(index=True)
    #: The recipient of a gift or grant (None for a donation).
    recipient: str | None = Field(default=None, index=True)
    amount: str
    text_hash: str = Field(unique=True, index=True)
    text_json: str
    tx_hash: str | None = None
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
