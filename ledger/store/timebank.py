"""Off-chain halves of the time bank and of proxy grants.

The chain holds a request's details hash and a proxy grant's consent hash; these tables hold what
the hashes commit to: a request's needs and address (the address is shown only to the parties,
their proxies and the scheme's staff), and the signed consent document behind each grant.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


class TimeBankDetails(SQLModel, table=True):
    """A time-bank request's details (kind, needs, address, deadline), whose hash is on chain.

    Several requests may carry the same details (weekly help); `request_id` is None while the
    posting transaction is under way.
    """

    __tablename__ = "timebank_details"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, unique=True, index=True)
    scheme_id: int = Field(index=True)
    requester: str = Field(index=True)
    details_hash: str = Field(index=True)
    details_json: str
    #: Who signed the posting (the member or their proxy).
    posted_by: str
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ProxyConsent(SQLModel, table=True):
    """The consent document behind a proxy grant (its keccak256 hash is the grant's consentRef)."""

    __tablename__ = "proxy_consent"

    id: int | None = Field(default=None, primary_key=True)
    member: str = Field(index=True)
    proxy: str = Field(index=True)
    consent_hash: str = Field(index=True)
    #: The document as given: text, or a file's bytes as base64 with its name.
    document: str
    file_name: str | None = None
    granted_by: str
    tx_hash: str | None = None
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
