"""The access log of the vault: who saw whose personal data unmasked, when, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


class PersonalDataAccess(SQLModel, table=True):
    """One unmasked read of a member's personal data (addresses only; never the data itself)."""

    __tablename__ = "personal_data_access"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    operator: str = Field(index=True)
    member: str = Field(index=True)
    purpose: str
