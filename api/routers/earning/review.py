"""The issuer's side of service records: a scheme's issuer or organisers submit and correct
them, its reviewers approve (the final approval mints the points) or reject them, never their own
(four eyes). Every request checks the caller's role on chain now; the contracts check again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import (
    ORGANISING,
    REVIEWING,
    CallerDep,
    IdPath,
    ServicesDep,
    require_scheme_staff,
    require_staff_of_any,
)
from api.routers.earning.records import RecordPublic
from api.schemas import MAX_LIST, Address, SchemeCode, Text, Time, given_time
from api.services import Services
from api.writes import SignedBody, Write, WriteDep
from ledger.chain.contracts import Record, RecordStatus
from ledger.chain.tx import Signer
from ledger.earning.reading import record_data
from ledger.earning.service import Earning
from ledger.errors import AccessDenied, InputError
from ledger.identity.auth import Caller
from ledger.values import MAX_TEXT

router = APIRouter(prefix="/v1/issuer", tags=["issuer"])


class RecordCreate(SignedBody):
    scheme: SchemeCode
    volunteer: Address
    start: Time
    end: Time
    content: Text
    evidence_hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="hash of the evidence")
    activity_id: int = Field(0, ge=0, le=2**63 - 1)
    action: str | None = Field(None, max_length=64, description="a fixed-point rule's action")
    activity_name: str | None = Field(None, max_length=MAX_TEXT)
    place: str | None = Field(None, max_length=MAX_TEXT)
    organising_unit: str | None = Field(None, max_length=MAX_TEXT)
    person_in_charge: str | None = Field(None, max_length=MAX_TEXT)
    employer: Address | None = None
    record_key: str | None = Field(None, max_length=100, description="the issuer's own id")


class RecordApprove(SignedBody):
    grade: str = Field("A", min_length=1, max_length=1, description="A, B, ... (A for fixed)")


class RecordReject(SignedBody):
    reason: int = Field(ge=1, le=255, description="1 evidence, 2 duplicate, 3 did not happen, ...")


class RecordCorrect(SignedBody):
    start: Time
    end: Time
    content: Text
    evidence_hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    reason: Text
    action: str | None = Field(None, max_length=64)


def _record(services: Services, record_id: int, viewer: str) -> RecordPublic:
    view = services.ledger.earning.view(record_id, viewer=viewer)
    return RecordPublic(**record_data(view.record, view.details))


def _not_own(caller_address: str, record: Record) -> None:
    """A reviewer never reviews a record they submitted or earn (the contract refuses too)."""
    if caller_address in (record.submitter, record.volunteer):
        raise AccessDenied(
            f"{caller_address} submitted or earns record {record.id} and may not review it "
            "(four eyes): another reviewer of the scheme does",
            record=record.id,
        )


@router.post("/records", response_model=RecordPublic, status_code=201)
def submit_record(body: RecordCreate, caller: CallerDep, write: WriteDep) -> object:
    """Submit a service record for review: the scheme's issuer or organisers."""
    s = require_scheme_staff(write.services, caller, body.scheme, ORGANISING)
    details = {
        "activity": body.activity_name,
        "place": body.place,
        "organising_unit": body.organising_unit,
        "person_in_charge": body.person_in_charge,
    }

    def submit(signer: Signer) -> RecordPublic:
        view = write.services.ledger.earning.submit_record(
            submitter=signer,
            scheme=s.id,
            volunteer=body.volunteer,
            start=given_time(body.start),
            end=given_time(body.end),
            evidence_hash=body.evidence_hash,
            content=body.content,
            activity_id=body.activity_id,
            action=body.action,
            details={k: v for k, v in details.items() if v},
            employer=body.employer,
            record_key=body.record_key,
        )
        return RecordPublic(**record_data(view.record, view.details))

    return write.run(submit, body=body, status_code=201)


@router.get("/records", response_model=list[RecordPublic])
def list_records(
    caller: CallerDep,
    services: ServicesDep,
    scheme: Annotated[str, Query(min_length=1, max_length=32)],
    status: Annotated[
        str | None, Query(max_length=20, description="pending (the default), approved, ...")
    ] = "pending",
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> list[RecordPublic]:
    """A scheme's records, newest first (by default those pending review): its issuer,
    organisers and reviewers. Details are left out here; read one record for them."""
    s = require_scheme_staff(services, caller, scheme, ("reviewer", "organiser"))
    wanted = None
    if status:
        names = {st.label: st for st in RecordStatus if st is not RecordStatus.NONE}
        if status.lower() not in names:
            raise InputError(f"status must be one of {', '.join(names)}", field="status")
        wanted = names[status.lower()]
    records = services.ledger.earning.records_of(scheme=s.id, status=wanted, last=last)
    return [RecordPublic(**record_data(r)) for r in records]


@router.get("/records/{record_id}", response_model=RecordPublic)
def read_record(record_id: IdPath, caller: CallerDep, services: ServicesDep) -> RecordPublic:
    """A record from the chain, with its details when the caller may see them (三方可见)."""
    return _record(services, record_id, caller.address)


def _staff_record(
    services: Services, caller: Caller, record_id: int, roles: tuple[str, ...]
) -> Record:
    """The record, if the caller is its scheme's issuer or holds one of `roles` for it; who is
    staff of no scheme is refused before the record is looked up (whether it exists or not)."""
    require_staff_of_any(services, caller, roles)
    record = services.ledger.earning.record(record_id)
    require_scheme_staff(services, caller, record.scheme_id, roles)
    return record


@router.post("/records/{record_id}/approve", response_model=RecordPublic)
def approve_record(
    record_id: IdPath, body: RecordApprove, caller: CallerDep, write: WriteDep
) -> object:
    """Approve with a grade (a reviewer of the scheme, never of their own record): the final
    approval mints the points."""

    def approve(earning: Earning, signer: Signer) -> object:
        return earning.approve(reviewer=signer, record_id=record_id, grade=body.grade)

    return _review(write, caller, record_id, body, approve)


@router.post("/records/{record_id}/reject", response_model=RecordPublic)
def reject_record(
    record_id: IdPath, body: RecordReject, caller: CallerDep, write: WriteDep
) -> object:
    """Reject with a reason code (a reviewer of the scheme, never of their own record)."""

    def reject(earning: Earning, signer: Signer) -> object:
        return earning.reject(reviewer=signer, record_id=record_id, reason=body.reason)

    return _review(write, caller, record_id, body, reject)


def _review(
    write: Write,
    caller: Caller,
    record_id: int,
    body: SignedBody,
    decide: Callable[[Earning, Signer], object],
) -> object:
    """A reviewer's decision on a record (`decide`), by a reviewer of its scheme who neither
    submitted nor earns it; the answer is the record after it."""
    _not_own(caller.address, _staff_record(write.services, caller, record_id, REVIEWING))
    earning = write.services.ledger.earning

    def review(signer: Signer) -> RecordPublic:
        decide(earning, signer)
        return _record(write.services, record_id, caller.address)

    return write.run(review, body=body)


@router.post("/records/{record_id}/corrections", response_model=RecordPublic, status_code=201)
def correct_record(
    record_id: IdPath, body: RecordCorrect, caller: CallerDep, write: WriteDep
) -> object:
    """Submit a correction of an approved record (its scheme's issuer or organisers); it is
    reviewed like any record and, once approved, supersedes the old one."""
    ledger = write.services.ledger
    _staff_record(write.services, caller, record_id, ORGANISING)

    def correct(signer: Signer) -> RecordPublic:
        view = ledger.earning.correct(
            submitter=signer,
            record_id=record_id,
            start=given_time(body.start),
            end=given_time(body.end),
            evidence_hash=body.evidence_hash,
            content=body.content,
            reason=body.reason,
            action=body.action,
        )
        return RecordPublic(**record_data(view.record, view.details))

    return write.run(correct, body=body, status_code=201)
