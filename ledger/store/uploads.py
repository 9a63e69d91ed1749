"""Batch uploads: a CSV of service records paid as a background job, kept so it survives restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


class BatchUpload(SQLModel, table=True):
    """One uploaded file and its job: planned, submitted by an organiser, paid by a reviewer."""

    __tablename__ = "batch_upload"

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(index=True)
    scheme_code: str
    organiser: str = Field(index=True)
    reviewer: str
    file_name: str
    file_sha256: str
    csv_text: str = Field(sa_column=Column(Text, nullable=False))
    chunk_size: int
    only_good_rows: bool = False
    #: planning, invalid, submitting, awaiting_review, paying, done, failed, interrupted
    state: str = Field(default="planning", index=True)
    #: The step that runs or ran last: submit (the organiser's) or pay (the reviewer's).
    phase: str = "submit"
    rows_total: int = 0
    rows_done: int = 0
    chunks_total: int = 0
    chunks_sent: int = 0
    tx_hashes_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    report_json: str | None = Field(default=None, sa_column=Column(Text))
    error_code: str | None = None
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    job_id: int | None = None
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
