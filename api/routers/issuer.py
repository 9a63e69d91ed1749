"""Issuers' console: the CLI's issuer operations over HTTP.

Activities, service records and their review, batch uploads as jobs, the merchant's side of the
catalogue, members and proxies, and council rate proposals. Every request checks the caller's
role on chain now (the contracts check again): a scheme's issuer or its organisers, reviewers
or merchants; registrars for members; council members for proposals.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import (
    CallerDep,
    IdPath,
    ServicesDep,
    require_any_role,
    require_council,
    require_role,
    require_scheme_staff,
    require_staff_of_any,
)
from api.routers.records import RecordPublic
from api.routers.wallet import MAX_LIST, ItemPublic, OrderPublic
from api.schemas import Hex
from api.writes import SignedBody, WriteDep
from ledger.chain.contracts import Record, RecordStatus
from ledger.chain.contracts.records import MAX_BATCH
from ledger.chain.relay import ClientSigner
from ledger.chain.tx import Signer
from ledger.earning.records import activity_data, record_data
from ledger.earning.uploads import MAX_UPLOAD_BYTES, report_data, upload_data
from ledger.errors import AccessDenied, InputError, RecordNotFound
from ledger.identity.proxies import MAX_CONSENT_BYTES, grant_data
from ledger.ledger import ProposalOutcome
from ledger.real_name import mask
from ledger.spending.catalogue import (
    DEFAULT_COLLECTION_PERIOD,
    MAX_COLLECTION_PERIOD,
    MAX_POINTS,
    MAX_STOCK,
    item_data,
    order_data,
)
from ledger.store import PersonalData
from ledger.values import MAX_TEXT, parse_address

router = APIRouter(prefix="/v1/issuer", tags=["issuer"])

ORGANISING = ("organiser",)
REVIEWING = ("reviewer",)
ANY_STAFF = ("organiser", "reviewer", "merchant")
Time = Annotated[
    str | int,
    Field(description="unix seconds, or a time such as `2026-11-28 09:00` (CST when no zone)"),
]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
SchemeCode = Annotated[str, Field(min_length=1, max_length=32, description="code or id")]
Address = Annotated[str, Field(min_length=1, max_length=42)]
PathAddress = Annotated[str, Path(min_length=1, max_length=42)]


def _time(value: str | int) -> str | int:
    if isinstance(value, str) and len(value) > 40:
        raise InputError("a time is at most 40 characters", field="time")
    if isinstance(value, int) and not 0 <= value < 2**40:
        raise InputError("a time in unix seconds is 0 - 2^40", field="time")
    return value


# --- activities ----------------------------------------------------------------------------------


class ActivityCreate(SignedBody):
    scheme: SchemeCode
    name: Text
    place: Text
    content: Text
    organising_unit: Text
    person_in_charge: Text
    start: Time
    end: Time
    capacity: int = Field(1, ge=1, le=100_000)
    requester: Address | None = Field(None, description="a task answering this resident's request")


class ActivityPublic(BaseModel):
    id: int
    scheme_id: int
    kind: str
    start: str
    end: str
    capacity: int
    enrolled: int
    batch_records: int
    places_left: int
    cancelled: bool
    organiser: str
    requester: str | None
    details_hash: Hex
    details: dict[str, Any]


class ActivityCancel(SignedBody):
    reason: int = Field(ge=1, le=255, description="1 organiser, 2 weather or safety, 3 too few, 99")


class ParticipantCreate(SignedBody):
    member: Address


def _activity(services: Any, activity_id: int) -> Any:
    return services.ledger.earning.activity(activity_id)


@router.post("/activities", response_model=ActivityPublic, status_code=201)
def create_activity(body: ActivityCreate, caller: CallerDep, write: WriteDep) -> object:
    """Publish an activity (or a task, with `requester`): the scheme's issuer or organisers."""
    s = require_scheme_staff(write.services, caller, body.scheme, ORGANISING)

    def create(signer: Signer) -> ActivityPublic:
        view = write.services.ledger.earning.create_activity(
            organiser=signer,
            scheme=s.id,
            name=body.name,
            place=body.place,
            content=body.content,
            organising_unit=body.organising_unit,
            person_in_charge=body.person_in_charge,
            start=_time(body.start),
            end=_time(body.end),
            capacity=body.capacity,
            requester=body.requester,
        )
        return ActivityPublic(**activity_data(view.activity, view.details))

    return write.run(create, body=body, status_code=201)


@router.get("/activities", response_model=list[ActivityPublic])
def list_activities(
    caller: CallerDep,
    services: ServicesDep,
    scheme: Annotated[str | None, Query(max_length=32)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> list[ActivityPublic]:
    """The latest activities, newest first (any signed-in caller: activities are published)."""
    views = services.ledger.earning.activities(scheme=scheme, last=last)
    return [ActivityPublic(**activity_data(v.activity, v.details)) for v in views]


@router.get("/activities/{activity_id}", response_model=ActivityPublic)
def read_activity(activity_id: IdPath, caller: CallerDep, services: ServicesDep) -> ActivityPublic:
    view = _activity(services, activity_id)
    return ActivityPublic(**activity_data(view.activity, view.details))


@router.post("/activities/{activity_id}/cancel", response_model=ActivityPublic)
def cancel_activity(
    activity_id: IdPath,
    body: ActivityCancel,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Cancel an activity (its scheme's issuer or organisers); submitted records stay reviewable."""
    view = _activity(write.services, activity_id)
    require_scheme_staff(write.services, caller, view.activity.scheme_id, ORGANISING)

    def cancel(signer: Signer) -> ActivityPublic:
        activity = write.services.ledger.earning.cancel_activity(
            organiser=signer, activity_id=activity_id, reason=body.reason
        )
        return ActivityPublic(**activity_data(activity, view.details))

    return write.run(cancel, body=body)


@router.post("/activities/{activity_id}/participants", response_model=ActivityPublic)
def assign_participant(
    activity_id: IdPath,
    body: ParticipantCreate,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Assign a member to an activity (派单): its scheme's issuer or organisers."""
    view = _activity(write.services, activity_id)
    require_scheme_staff(write.services, caller, view.activity.scheme_id, ORGANISING)
    member = parse_address(body.member, what="member address")

    def assign(signer: Signer) -> ActivityPublic:
        activity = write.services.ledger.earning.assign(
            organiser=signer, activity_id=activity_id, member=member
        )
        return ActivityPublic(**activity_data(activity, view.details))

    return write.run(assign, body=body)


@router.post("/activities/{activity_id}/sign-up", response_model=ActivityPublic)
def sign_up(
    activity_id: IdPath,
    body: SignedBody,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """The caller signs up for an activity as a volunteer (a registered member)."""
    view = _activity(write.services, activity_id)

    def join(signer: Signer) -> ActivityPublic:
        activity = write.services.ledger.earning.sign_up(member=signer, activity_id=activity_id)
        return ActivityPublic(**activity_data(activity, view.details))

    return write.run(join, body=body)


# --- service records -----------------------------------------------------------------------------


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


def _record(services: Any, record_id: int, viewer: str) -> RecordPublic:
    view = services.ledger.earning.view(record_id, viewer=viewer)
    return RecordPublic(**record_data(view.record, view.details))


def _not_own(caller_address: str, record: Any) -> None:
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
            start=_time(body.start),
            end=_time(body.end),
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


def _staff_record(services: Any, caller: Any, record_id: int, roles: tuple[str, ...]) -> Record:
    """The record, if the caller is its scheme's issuer or holds one of `roles` for it; who is
    staff of no scheme is refused before the record is looked up (whether it exists or not)."""
    require_staff_of_any(services, caller, roles)
    record = services.ledger.earning.record(record_id)
    require_scheme_staff(services, caller, record.scheme_id, roles)
    return record


@router.post("/records/{record_id}/approve", response_model=RecordPublic)
def approve_record(
    record_id: IdPath,
    body: RecordApprove,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Approve with a grade (a reviewer of the scheme, never of their own record): the final
    approval mints the points."""
    ledger = write.services.ledger
    record = _staff_record(write.services, caller, record_id, REVIEWING)
    _not_own(caller.address, record)

    def approve(signer: Signer) -> RecordPublic:
        ledger.earning.approve(reviewer=signer, record_id=record_id, grade=body.grade)
        return _record(write.services, record_id, caller.address)

    return write.run(approve, body=body)


@router.post("/records/{record_id}/reject", response_model=RecordPublic)
def reject_record(
    record_id: IdPath,
    body: RecordReject,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Reject with a reason code (a reviewer of the scheme, never of their own record)."""
    ledger = write.services.ledger
    record = _staff_record(write.services, caller, record_id, REVIEWING)
    _not_own(caller.address, record)

    def reject(signer: Signer) -> RecordPublic:
        ledger.earning.reject(reviewer=signer, record_id=record_id, reason=body.reason)
        return _record(write.services, record_id, caller.address)

    return write.run(reject, body=body)


@router.post("/records/{record_id}/corrections", response_model=RecordPublic, status_code=201)
def correct_record(
    record_id: IdPath,
    body: RecordCorrect,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Submit a correction of an approved record (its scheme's issuer or organisers); it is
    reviewed like any record and, once approved, supersedes the old one."""
    ledger = write.services.ledger
    _staff_record(write.services, caller, record_id, ORGANISING)

    def correct(signer: Signer) -> RecordPublic:
        view = ledger.earning.correct(
            submitter=signer,
            record_id=record_id,
            start=_time(body.start),
            end=_time(body.end),
            evidence_hash=body.evidence_hash,
            content=body.content,
            reason=body.reason,
            action=body.action,
        )
        return RecordPublic(**record_data(view.record, view.details))

    return write.run(correct, body=body, status_code=201)


# --- batch uploads -------------------------------------------------------------------------------


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


def _custodial_signer(write: Any, caller: Any) -> Signer:
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


def _upload(services: Any, caller: Any, upload_id: int) -> Any:
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


# --- catalogue (merchants) -----------------------------------------------------------------------


class ItemCreate(SignedBody):
    scheme: SchemeCode
    kind: str = Field(max_length=16, description="gift, ticket or service")
    name: Text
    description: Text
    merchant_name: Text
    place: Text
    price: int = Field(ge=0, le=MAX_POINTS)
    stock: int = Field(ge=0, le=MAX_STOCK)
    per_member: int = Field(1, ge=1, le=MAX_STOCK)
    available_from: Time
    available_until: Time
    collection_period_seconds: int = Field(
        DEFAULT_COLLECTION_PERIOD, ge=1, le=MAX_COLLECTION_PERIOD
    )


class ItemUpdate(SignedBody):
    price: int | None = Field(None, ge=0, le=MAX_POINTS)
    stock: int | None = Field(None, ge=0, le=MAX_STOCK)
    per_member: int | None = Field(None, ge=1, le=MAX_STOCK)
    available_from: Time | None = None
    available_until: Time | None = None


class Fulfilment(SignedBody):
    code: str = Field(min_length=1, max_length=200, description="the ticket or pick-up code")


def _item_staff(services: Any, caller: Any, item_id: int) -> None:
    item = services.ledger.catalogue.item(item_id)
    require_scheme_staff(services, caller, item.item.scheme_id, ("merchant",))


@router.post("/catalogue/items", response_model=ItemPublic, status_code=201, tags=["catalogue"])
def list_item(body: ItemCreate, caller: CallerDep, write: WriteDep) -> object:
    """List an item for points (a merchant of the scheme)."""
    s = require_scheme_staff(write.services, caller, body.scheme, ("merchant",))

    def add(signer: Signer) -> ItemPublic:
        view = write.services.ledger.catalogue.add_item(
            merchant=signer,
            scheme=s.id,
            kind=body.kind,
            name=body.name,
            description=body.description,
            merchant_name=body.merchant_name,
            place=body.place,
            price=body.price,
            stock=body.stock,
            per_member=body.per_member,
            available_from=_time(body.available_from),
            available_until=_time(body.available_until),
            collection_period=body.collection_period_seconds,
        )
        return ItemPublic(**item_data(view))

    return write.run(add, body=body, status_code=201)


@router.put("/catalogue/items/{item_id}", response_model=ItemPublic, tags=["catalogue"])
def update_item(
    item_id: IdPath,
    body: ItemUpdate,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Change an item's price, stock, per-member limit or window (its merchant)."""
    _item_staff(write.services, caller, item_id)

    def update(signer: Signer) -> ItemPublic:
        view = write.services.ledger.catalogue.update_item(
            merchant=signer,
            item_id=item_id,
            price=body.price,
            stock=body.stock,
            per_member=body.per_member,
            available_from=_time(body.available_from) if body.available_from else None,
            available_until=_time(body.available_until) if body.available_until else None,
        )
        return ItemPublic(**item_data(view))

    return write.run(update, body=body)


@router.post("/catalogue/items/{item_id}/delist", response_model=ItemPublic, tags=["catalogue"])
def delist_item(
    item_id: IdPath,
    body: SignedBody,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Take an item off the catalogue (its merchant, or the scheme's issuer)."""
    _item_staff(write.services, caller, item_id)
    return write.run(
        lambda signer: ItemPublic(
            **item_data(
                write.services.ledger.catalogue.delist_item(account=signer, item_id=item_id)
            )
        ),
        body=body,
    )


@router.get("/catalogue/orders", response_model=list[OrderPublic], tags=["catalogue"])
def merchant_orders(
    caller: CallerDep,
    services: ServicesDep,
    item: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[OrderPublic]:
    """Orders of the caller's items (or of one of them), newest first: a merchant of the items'
    schemes or their issuer (an item's orders: its scheme's merchants and issuer)."""
    schemes = require_staff_of_any(services, caller, ("merchant",))
    if item is not None:
        _item_staff(services, caller, item)
        views = services.ledger.catalogue.orders(item_id=item, status=status, last=last)
    else:
        views = services.ledger.catalogue.orders(merchant=caller.address, status=status, last=last)
        views = [v for v in views if v.item.item.scheme_id in schemes]
    return [OrderPublic(**order_data(v)) for v in views]


@router.post("/catalogue/orders/{order_id}/fulfil", response_model=OrderPublic, tags=["catalogue"])
def fulfil_order(
    order_id: IdPath,
    body: Fulfilment,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Hand the item over: the held points are burned, the code's hash recorded (its merchant)."""
    catalogue = write.services.ledger.catalogue
    order = catalogue.order(order_id)
    require_scheme_staff(write.services, caller, order.item.item.scheme_id, ("merchant",))
    return write.run(
        lambda signer: OrderPublic(
            **order_data(catalogue.fulfil(merchant=signer, order_id=order_id, code=body.code))
        ),
        body=body,
    )


# --- members -------------------------------------------------------------------------------------


class MemberCreate(SignedBody):
    address: Address | None = Field(None, description="the member's account; or create_wallet")
    create_wallet_pin: str | None = Field(
        None,
        min_length=6,
        max_length=128,
        description="create a custodial wallet with this PIN and register it (registrars "
        "signing with their own custodial wallet's PIN)",
    )
    name: str = Field(min_length=1, max_length=100, description="real name (kept in the vault)")
    id_number: str = Field(min_length=1, max_length=32, description="resident ID number")
    phone: str | None = Field(None, min_length=1, max_length=32)


class PersonalPublic(BaseModel):
    """Personal data, always masked."""

    name: str
    id_number: str
    phone: str | None
    masked: bool = True


class MemberPublic(BaseModel):
    address: str
    registered: bool
    status: str
    frozen_reason: int | None
    registered_at: int | None
    registrar: str | None
    successor: str | None
    custodial: bool
    personal: PersonalPublic | None
    created: bool | None = None
    tx_hash: str | None = None


class MemberFreeze(SignedBody):
    reason: int = Field(ge=1, le=65535, description="reason code")


class ProxyCreate(SignedBody):
    proxy: Address
    consent_base64: str = Field(
        min_length=1,
        max_length=(MAX_CONSENT_BYTES * 4) // 3 + 4,
        description="the signed consent document (e.g. a scan), base64; only its hash goes on chain",
    )
    file_name: str | None = Field(None, min_length=1, max_length=200)


class ProxyPublic(BaseModel):
    member: str
    proxy: str
    active: bool
    consent_hash: str
    consent_on_file: bool
    granted_by: str
    granted_block: int
    revoked_by: str | None
    revoked_block: int | None


def _member(services: Any, address: str, **extra: Any) -> MemberPublic:
    ledger = services.ledger
    info = ledger.member(address)
    personal = None
    try:
        entry = ledger.personal_data(info.address)
    except RecordNotFound:
        entry = None
    if entry is not None and entry.data is not None:
        personal = PersonalPublic(
            name=mask(entry.data.name),
            id_number=mask(entry.data.id_number),
            phone=mask(entry.data.phone) if entry.data.phone else None,
        )
    return MemberPublic(
        address=info.address,
        registered=info.registered,
        status=info.status.name.lower(),
        frozen_reason=info.frozen_reason or None,
        registered_at=info.registered_at or None,
        registrar=info.registrar,
        successor=info.successor,
        custodial=services.wallets.is_custodial(info.address),
        personal=personal,
        **extra,
    )


@router.post("/members", response_model=MemberPublic, status_code=201, tags=["members"])
def register_member(body: MemberCreate, caller: CallerDep, write: WriteDep) -> object:
    """Register a member (registrars): personal data goes to the encrypted vault, only a
    commitment on chain; answers show it masked. With `create_wallet_pin` a custodial wallet is
    created for them in the same call."""
    services = write.services
    require_role(services, caller, "registrar")
    if (body.address is None) == (body.create_wallet_pin is None):
        raise InputError("give either the member's address or create_wallet_pin", field="address")
    address = parse_address(body.address, what="member address") if body.address else None
    personal = PersonalData(name=body.name, id_number=body.id_number, phone=body.phone)

    def register(signer: Signer) -> MemberPublic:
        member = address
        if member is None:
            if isinstance(signer, ClientSigner):
                raise InputError(
                    "creating a wallet in the same call needs the registrar's custodial PIN; "
                    "otherwise create it first with POST /v1/wallets, then register its address",
                    field="create_wallet_pin",
                )
            wallet = services.wallets.create(
                pin=body.create_wallet_pin or "", created_by=caller.address
            )
            member = wallet.address
        registration = services.ledger.register_member(
            registrar=signer, address=member, personal=personal
        )
        return _member(services, member, created=registration.created, tx_hash=registration.tx_hash)

    return write.run(
        register,
        body=body,
        status_code=201,
        audit="member.register",
        subject=address or "new custodial wallet",
    )


@router.get("/members/{address}", response_model=MemberPublic, tags=["members"])
def read_member(address: PathAddress, caller: CallerDep, services: ServicesDep) -> MemberPublic:
    """A member's chain status and masked personal data (registrars and auditors)."""
    require_any_role(services, caller, ("registrar", "auditor"))
    return _member(services, parse_address(address, what="member address"))


def _freeze(address: str, body: MemberFreeze, caller: Any, write: Any, *, freeze: bool) -> Any:
    services = write.services
    require_role(services, caller, "registrar")
    member = parse_address(address, what="member address")
    ledger = services.ledger

    def act(signer: Signer) -> MemberPublic:
        change = ledger.freeze_member if freeze else ledger.unfreeze_member
        result = change(registrar=signer, address=member, reason=body.reason)
        return _member(services, member, tx_hash=result.tx_hash)

    verb = "freeze" if freeze else "unfreeze"
    return write.run(act, body=body, audit=f"member.{verb}", subject=member)


@router.post("/members/{address}/freeze", response_model=MemberPublic, tags=["members"])
def freeze_member(
    address: PathAddress,
    body: MemberFreeze,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Freeze a member: they can no longer receive or move points (registrars)."""
    return _freeze(address, body, caller, write, freeze=True)


@router.post("/members/{address}/unfreeze", response_model=MemberPublic, tags=["members"])
def unfreeze_member(
    address: PathAddress,
    body: MemberFreeze,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Lift a freeze (registrars)."""
    return _freeze(address, body, caller, write, freeze=False)


@router.post(
    "/members/{address}/proxies", response_model=ProxyPublic, status_code=201, tags=["members"]
)
def grant_proxy(
    address: PathAddress,
    body: ProxyCreate,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Record that `proxy` may act for the member, with their signed consent (registrars)."""
    services = write.services
    require_role(services, caller, "registrar")
    member = parse_address(address, what="member address")
    try:
        consent = base64.b64decode(body.consent_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("consent_base64 is not base64", field="consent_base64") from None

    def grant(signer: Signer) -> ProxyPublic:
        g = services.ledger.proxies.grant(
            actor=signer,
            member=member,
            proxy=body.proxy,
            consent=consent,
            file_name=body.file_name or "consent",
        )
        return ProxyPublic(**grant_data(g))

    return write.run(grant, body=body, status_code=201, audit="proxy.grant", subject=member)


@router.post(
    "/members/{address}/proxies/{proxy}/revoke", response_model=ProxyPublic, tags=["members"]
)
def revoke_proxy(
    address: PathAddress,
    proxy: PathAddress,
    body: SignedBody,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """End a proxy grant (registrars)."""
    services = write.services
    require_role(services, caller, "registrar")
    member = parse_address(address, what="member address")
    return write.run(
        lambda signer: ProxyPublic(
            **grant_data(services.ledger.proxies.revoke(actor=signer, member=member, proxy=proxy))
        ),
        body=body,
        audit="proxy.revoke",
        subject=member,
    )


# --- rate proposals ------------------------------------------------------------------------------


class UnitValueProposal(SignedBody):
    scheme: SchemeCode
    unit_value: int = Field(ge=0, le=2**64 - 1, description="thousandths of the city unit")
    from_block: int | None = Field(
        None, ge=0, le=2**64 - 1, description="in force from this block (default: 10 ahead)"
    )
    description: str = Field("", max_length=500)


class ProposalPublic(BaseModel):
    id: int
    state: str = Field(
        description="open, approved (ready to execute), executed, cancelled, expired"
    )
    approvals: int
    threshold: int
    approved_by: list[str]
    proposer: str
    created_at: int
    deadline: int
    description: str
    tx_hash: str | None


def _proposal(outcome: ProposalOutcome) -> ProposalPublic:
    p = outcome.proposal
    return ProposalPublic(
        id=p.id,
        state=outcome.state,
        approvals=p.approvals,
        threshold=outcome.threshold,
        approved_by=list(outcome.approved_by),
        proposer=p.proposer,
        created_at=p.created_at,
        deadline=p.deadline,
        description=p.description,
        tx_hash=outcome.tx_hash,
    )


@router.post(
    "/proposals/unit-value", response_model=ProposalPublic, status_code=201, tags=["council"]
)
def propose_unit_value(body: UnitValueProposal, caller: CallerDep, write: WriteDep) -> object:
    """Propose a scheme's new unit value from a block (council members); the proposer's
    approval counts."""
    services = write.services
    require_council(services, caller)
    ledger = services.ledger
    call = ledger.unit_value_call(
        scheme=body.scheme, unit_value=body.unit_value, from_block=body.from_block
    )
    description = body.description or call.summary

    def propose(signer: Signer) -> ProposalPublic:
        return _proposal(ledger.propose(proposer=signer, calls=[call], description=description))

    return write.run(
        propose, body=body, status_code=201, audit="proposal.unit_value", subject=body.scheme
    )


@router.get("/proposals", response_model=list[ProposalPublic], tags=["council"])
def list_proposals(
    caller: CallerDep,
    services: ServicesDep,
    include_closed: bool = False,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> list[ProposalPublic]:
    """Proposals, newest first (open ones unless include_closed): council members and auditors."""
    if not services.is_council(caller.address):
        require_any_role(services, caller, ("auditor",))
    return [
        _proposal(o) for o in services.ledger.proposals(include_closed=include_closed, last=last)
    ]


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalPublic, tags=["council"])
def approve_proposal(
    proposal_id: IdPath,
    body: SignedBody,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Approve a proposal as a council member (one signed write; execute it next once approved)."""
    services = write.services
    require_council(services, caller)
    return write.run(
        lambda signer: _proposal(services.ledger.approve(member=signer, proposal_id=proposal_id)),
        body=body,
        audit="proposal.approve",
        subject=f"proposal {proposal_id}",
    )


@router.post("/proposals/{proposal_id}/execute", response_model=ProposalPublic, tags=["council"])
def execute_proposal(
    proposal_id: IdPath,
    body: SignedBody,
    caller: CallerDep,
    write: WriteDep,
) -> object:
    """Run an approved proposal (a council member)."""
    services = write.services
    require_council(services, caller)
    return write.run(
        lambda signer: _proposal(services.ledger.execute(member=signer, proposal_id=proposal_id)),
        body=body,
        audit="proposal.execute",
        subject=f"proposal {proposal_id}",
    )
