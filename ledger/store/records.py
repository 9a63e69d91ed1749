"""Off-chain halves of activities and service records, batch jobs and certificates.

The chain holds hashes and figures; these tables hold what the hashes commit to (the details the
2021 rules on volunteer service records require), the link from an issuer's own record ids to the
chain, and who read the details. Refused attempts are logged in ``ledger.store.refusals``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from eth_utils import keccak
from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from ledger.store.db import UtcDateTime


def canonical_json(data: dict[str, Any]) -> bytes:
    """The bytes a details hash is taken over: sorted keys, no spaces, UTF-8 (Chinese kept)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def details_hash(data: dict[str, Any]) -> bytes:
    """keccak256 of the canonical JSON: what the chain stores for off-chain details."""
    return keccak(canonical_json(data))


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ActivityDetails(SQLModel, table=True):
    """An activity's name, place and content, whose hash is on chain."""

    __tablename__ = "activity_details"

    id: int | None = Field(default=None, primary_key=True)
    #: The on-chain id once the activity is created (None while the transaction is under way).
    activity_id: int | None = Field(default=None, unique=True, index=True)
    scheme_id: int = Field(index=True)
    details_hash: str = Field(unique=True, index=True)
    details_json: str
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class RecordDetails(SQLModel, table=True):
    """A service record's details (activity name, date, place, content, hours, organising unit,
    person in charge, the volunteer's employer if named) and its evidence hash.

    `record_key` is the issuer's own id for the record (a CSV row's record_id, or one made up for a
    record submitted singly), unique per scheme: it is how a batch run that is started again finds
    what it already paid. The evidence hash is unique across all records: the same photos or
    sign-in sheet never back two records.
    """

    __tablename__ = "record_details"
    __table_args__ = (UniqueConstraint("scheme_id", "record_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(index=True)
    record_key: str
    volunteer: str = Field(index=True)
    #: On chain: a single record's id, or a batch id and the record's index in it.
    record_id: int | None = Field(default=None, index=True)
    batch_id: int | None = Field(default=None, index=True)
    batch_index: int | None = None
    #: The records hash of the batch chunk this record was planned into (before it went on chain).
    chunk_hash: str | None = Field(default=None, index=True)
    activity_id: int = 0
    start: int
    end: int
    details_hash: str = Field(index=True)
    evidence_hash: str = Field(unique=True, index=True)
    details_json: str
    #: The employer organisation's account, which may read the details (三方可见).
    employer: str | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class BatchJob(SQLModel, table=True):
    """One run of `vpl issue batch` over a file: its chunks are batches on chain."""

    __tablename__ = "batch_job"

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(index=True)
    file_sha256: str = Field(index=True)
    file_name: str
    rows: int
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class BatchChunk(SQLModel, table=True):
    """A chunk of a batch job: the records hash identifies it on chain (submitted once)."""

    __tablename__ = "batch_chunk"
    __table_args__ = (UniqueConstraint("job_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="batch_job.id", index=True)
    position: int
    records_hash: str = Field(unique=True, index=True)
    count: int
    batch_id: int | None = None
    status: str = "planned"
    points: int | None = None


class DetailsAccess(SQLModel, table=True):
    """One read of a record's details, by whom and in what capacity."""

    __tablename__ = "details_access"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    viewer: str = Field(index=True)
    record: int = Field(index=True)
    capacity: str


class IssuedCertificate(SQLModel, table=True):
    """A certificate of service (志愿服务证明) as it was issued: `vpl verify CODE` finds it here.

    `content_hash` covers everything but the issue time and block, so asking again for a
    certificate whose records have not changed returns the one already issued.
    """

    __tablename__ = "certificate"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    member: str = Field(index=True)
    period_from: str
    period_to: str
    issuer: str = Field(index=True)
    content_hash: str = Field(index=True)
    #: The signed JSON document, exactly as issued.
    document_json: str
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
