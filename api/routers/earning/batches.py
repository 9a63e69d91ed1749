"""Batch uploads as jobs: an organiser uploads a CSV of service records, the job plans every
row and submits it in chunks; the scheme's reviewer approves and the job pays. A step signs many
transactions, so it runs with a custodial console wallet and its PIN."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import (
    ANY_STAFF,
    ORGANISING,
    REVIEWING,
    CallerDep,
    IdPath,
    ServicesDep,
    require_scheme_staff,
)
from api.schemas import MAX_LIST, Address, SchemeCode
from api.services import Services
from api.writes import Write, WriteDep
from ledger.chain.contracts.packed_records import MAX_BATCH
from ledger.chain.tx import Signer
from ledger.earning.uploads import MAX_UPLOAD_BYTES, report_data, upload_data
from ledger.errors import InputError
from ledger.identity.auth import Caller
from ledger.store.uploads import BatchUpload
from ledger.values import parse_address

router = APIRouter(prefix="/v1/issuer", tags=["issuer"])


class BatchCreate(BaseModel):
    scheme: SchemeCode
    reviewer: Address = Field(description="the reviewer of the scheme who will approve and pay")
    file_name: str = Field("upload.csv", min_length=1, max_length=200)
    csv: str = Field(
        min_length=1,
        max_length=MAX_UPLOAD_BYTES,
        description="the CSV text (columns as in docs/issuers-cli.md, Batch issuance)",
    )
    chunk_size: int = Field(200, ge=1, le=MAX_BATCH)
    only_good_rows: bool = Field(False, description="pay the good rows even if some are bad")


class BatchError(BaseModel):
    code: str | None
    message: str | None


class BatchPublic(BaseModel):
    id: int
    scheme: str
    scheme_id: int
    organiser: str
    reviewer: str
    file_name: str
    file_sha256: str
    state: str = Field(
        description="planning, invalid, submitting, awaiting_review, paying, done, failed, "
        "interrupted"
    )
    phase: str = Field(description="submit (the organiser's step) or pay (the reviewer's)")
    rows_total: int
    rows_done: int
    chunks_total: int
    chunks_sent: int
    tx_hashes: list[str]
    error: BatchError | None
    created_at: datetime
    updated_at: datetime


class RowProblem(BaseModel):
    line: int
    record_id: str
    error: str


class RowSkipped(BaseModel):
    line: int
    record_id: str
    reason: str


class RowNormalised(BaseModel):
    line: int
    record_id: str
    changes: list[str]


class BatchReportPublic(BaseModel):
    id: int
    state: str
    rows: int = 0
    good_rows: int = 0
    points: int = 0
    skipped: list[RowSkipped] = []
    bad_rows: list[RowProblem] = []
    #: Rows whose values were read after normalising (full-width characters, Excel date forms).
    normalised: list[RowNormalised] = []
    paid_records: int = 0
    batches: list[int] = []
    gas_used: int = 0
    seconds: float = 0


def _custodial_signer(write: Write, caller: Caller) -> Signer:
    """A batch step signs many transactions: only a custodial (console) wallet, unlocked by its
    PIN for the step's duration, can; a key held on a device signs one request per round trip."""
    if write.pin is None or not write.services.wallets.is_custodial(caller.address):
        raise InputError(
            "a batch upload signs many transactions, so it runs with a custodial console "
            "wallet: sign in with its PIN and send the PIN in the X-Wallet-PIN header (a key on "
            "your own device signs one write at a time: use the record endpoints instead)",
            field="X-Wallet-PIN",
        )
    signer: Signer = write.signer()
    return signer


def _upload(services: Services, caller: Caller, upload_id: int) -> BatchUpload:
    job = services.uploads.get(upload_id)
    require_scheme_staff(services, caller, job.scheme_id, ANY_STAFF)
    return job


@router.post("/batches", response_model=BatchPublic, status_code=202)
def create_batch(body: BatchCreate, caller: CallerDep, write: WriteDep) -> object:
    """Upload a CSV of service records (an organiser of the scheme, custodial wallet with its
    PIN). The job plans every row (all bad rows with their line numbers: state `invalid`), then
    submits each chunk; a reviewer then approves it with `POST .../approve`."""
    services = write.services
    s = require_scheme_staff(services, caller, body.scheme, ORGANISING)
    reviewer = parse_address(body.reviewer, what="reviewer address")
    if not services.has_role("reviewer", reviewer, s.id):
        raise InputError(f"{reviewer} is not a reviewer of scheme {s.code}", field="reviewer")

    def start(_: Signer) -> BatchPublic:
        signer = _custodial_signer(write, caller)
        job = services.uploads.create(
            scheme=s.id,
            organiser=caller.address,
            reviewer=reviewer,
            file_name=body.file_name,
            csv_text=body.csv,
            chunk_size=body.chunk_size,
            only_good_rows=body.only_good_rows,
        )
        return BatchPublic(
            **upload_data(services.uploads.start_submit(job.id or 0, organiser=signer))
        )

    return write.run(
        start, status_code=202, chain=False, audit="batch.upload", subject=f"scheme {s.code}"
    )


@router.get("/batches", response_model=list[BatchPublic])
def list_batches(
    caller: CallerDep,
    services: ServicesDep,
    scheme: Annotated[str, Query(min_length=1, max_length=32)],
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> list[BatchPublic]:
    """A scheme's batch uploads, newest first (its issuer, organisers, reviewers, merchants)."""
    s = require_scheme_staff(services, caller, scheme, ANY_STAFF)
    return [BatchPublic(**upload_data(j)) for j in services.uploads.list(scheme_id=s.id, last=last)]


@router.get("/batches/{upload_id}", response_model=BatchPublic)
def read_batch(upload_id: IdPath, caller: CallerDep, services: ServicesDep) -> BatchPublic:
    """A job's state and progress: rows done of total, chunks sent, transactions."""
    return BatchPublic(**upload_data(_upload(services, caller, upload_id)))


@router.get("/batches/{upload_id}/report", response_model=BatchReportPublic)
def batch_report(upload_id: IdPath, caller: CallerDep, services: ServicesDep) -> BatchReportPublic:
    """The result report: rows, bad rows with line numbers, skipped rows, what was paid."""
    return BatchReportPublic(**report_data(_upload(services, caller, upload_id)))


@router.post("/batches/{upload_id}/approve", response_model=BatchPublic, status_code=202)
def approve_batch(upload_id: IdPath, caller: CallerDep, write: WriteDep) -> object:
    """The job's reviewer approves: the job pays every chunk (custodial wallet, PIN). Also
    resumes an interrupted payment."""
    services = write.services
    job = _upload(services, caller, upload_id)
    require_scheme_staff(services, caller, job.scheme_id, REVIEWING)

    def pay(_: Signer) -> BatchPublic:
        signer = _custodial_signer(write, caller)
        return BatchPublic(**upload_data(services.uploads.start_pay(upload_id, reviewer=signer)))

    return write.run(
        pay, status_code=202, chain=False, audit="batch.approve", subject=f"upload {upload_id}"
    )


@router.post("/batches/{upload_id}/resume", response_model=BatchPublic, status_code=202)
def resume_batch(upload_id: IdPath, caller: CallerDep, write: WriteDep) -> object:
    """Resume the organiser's step of a job interrupted by a restart (nothing is sent twice)."""
    services = write.services
    _upload(services, caller, upload_id)

    def resume(_: Signer) -> BatchPublic:
        signer = _custodial_signer(write, caller)
        return BatchPublic(
            **upload_data(services.uploads.start_submit(upload_id, organiser=signer))
        )

    return write.run(
        resume, status_code=202, chain=False, audit="batch.resume", subject=f"upload {upload_id}"
    )
