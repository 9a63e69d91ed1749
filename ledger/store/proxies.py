"""Off-chain half of proxy grants: the signed consent document whose keccak-256 is on chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


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
