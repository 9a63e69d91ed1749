"""Off-chain half of the time bank: what a request's details hash on chain commits to, its needs
and address (the address is shown only to the parties, their proxies and the scheme's staff)."""

from __future__ import annotations

from sqlmodel import Field

from ledger.store.pending import HashedDetails


class TimeBankDetails(HashedDetails, table=True):
    """A time-bank request's details (kind, needs, address, deadline), whose hash is on chain.

    Several requests may carry the same details (weekly help); `request_id` is None while the
    posting transaction is under way.
    """

    __tablename__ = "timebank_details"

    request_id: int | None = Field(default=None, unique=True, index=True)
    requester: str = Field(index=True)
    #: Who signed the posting (the member or their proxy).
    posted_by: str
