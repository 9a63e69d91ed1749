"""A volunteer's service records and who can see them (三方可见): the volunteer, the community
that reviews a record (its scheme's issuer, reviewers and organisers) and the volunteer's employer
organisation when named. The chain's part of a record is shown to the volunteer, their proxy and
auditors; its details (personal data) only to the three parties, and every read is logged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, reading_for
from api.schemas import MAX_LIST, Hex
from ledger.chain.contracts import RecordStatus
from ledger.earning.reading import record_data, visibility_data
from ledger.errors import AccessDenied

router = APIRouter(prefix="/v1", tags=["records"])

Status = Literal["pending", "approved", "rejected", "superseded"]


class DetailsReadPublic(BaseModel):
    at: str
    viewer: str
    capacity: str = Field(description="volunteer, employer, issuer, reviewer or organiser")


class VisibilityPublic(BaseModel):
    volunteer: str
    employer: str | None = Field(description="the employer organisation's account, when named")
    issuer: str = Field(description="the scheme's issuer")
    community_roles: list[str] = Field(description="roles of the scheme whose holders may read")
    details_kept: bool
    reads: list[DetailsReadPublic] = Field(description="every read of the details so far")


class RecordPublic(BaseModel):
    id: int
    scheme_id: int
    volunteer: str
    activity_id: int
    status: str
    start: str = Field(description="China Standard Time")
    end: str
    minutes: int
    action: str | None
    grade: str | None
    points: int
    rule_version: int | None
    late: bool
    submitter: str
    first_reviewer: str | None
    reviewer: str | None
    reject_reason: str | None
    supersedes: int | None
    correction: int | None
    details_hash: Hex
    evidence_hash: Hex
    details: dict[str, Any] | None = Field(description="only for the three parties; logged")
    capacity: str | None = Field(None, description="in what capacity the caller reads the details")
    visible_to: VisibilityPublic | None = None


@router.get("/members/{address}/records", response_model=list[RecordPublic])
def records(
    address: str,
    caller: CallerDep,
    services: ServicesDep,
    status: Annotated[Status | None, Query()] = None,
    scheme: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[RecordPublic]:
    """A volunteer's service records, newest first, each with who may read its details and who
    has (the details themselves: GET /v1/records/{id})."""
    member = reading_for(services, caller, address)
    earning = services.ledger.earning
    found = earning.records_of(
        volunteer=member,
        scheme=scheme,
        status=RecordStatus[status.upper()] if status else None,
        last=last,
    )
    return [
        RecordPublic(
            **record_data(r), visible_to=VisibilityPublic(**visibility_data(earning.visibility(r)))
        )
        for r in found
    ]


@router.get("/records/{record_id}", response_model=RecordPublic)
def record(
    record_id: Annotated[int, Path(ge=1, le=2**63)], caller: CallerDep, services: ServicesDep
) -> RecordPublic:
    """One record: with its details for the three parties (the read is logged); without them for
    the volunteer's proxy and auditors; refused to anyone else."""
    earning = services.ledger.earning
    found = earning.existing(record_id)
    view = earning.view(record_id, viewer=caller.address)
    if view.capacity is None:
        try:
            reading_for(services, caller, found.volunteer)
        except AccessDenied:
            raise AccessDenied(
                "a service record is shown to its volunteer, their proxy and auditors; its "
                "details to the volunteer, the community that reviews it and the volunteer's "
                "employer organisation only"
            ) from None
    return RecordPublic(
        **record_data(found, view.details),
        capacity=view.capacity,
        visible_to=VisibilityPublic(**visibility_data(earning.visibility(found))),
    )
