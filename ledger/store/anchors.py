"""Snapshots of the store's anchors (``ledger.audit.anchors``): for each anchor recorded on chain, the
leaf of every row it covered, so that verification names the rows that changed. The chain holds
the root: a snapshot that no longer gives it has been altered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


class StoreAnchor(SQLModel, table=True):
    """One anchor of the store, as recorded on chain (the id is the chain's anchor id)."""

    __tablename__ = "store_anchor"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    root: str
    rows: int
    tx_hash: str
    block: int
    anchored_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    #: The highest row id of each table covered, as JSON ({"record_details": 120, ...}).
    high_ids: str
    #: Rows not yet linked to the chain when the digest ran, by table, as JSON.
    pending_ids: str = "{}"
    #: When the digest began, by the store's clock.
    digest_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class StoreAnchorLeaf(SQLModel, table=True):
    """The leaf of one row in one anchor (kept for the newest anchors only)."""

    __tablename__ = "store_anchor_leaf"
    __table_args__ = (Index("ix_store_anchor_leaf_anchor", "anchor_id", "table_name", "row_id"),)

    anchor_id: int = Field(primary_key=True)
    table_name: str = Field(primary_key=True)
    row_id: int = Field(primary_key=True)
    leaf: str
