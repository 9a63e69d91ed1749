"""Activities and tasks (群众点单、社区派单、党员接单): a scheme's issuer or organisers publish,
cancel and assign them; members sign up. Published activities are read by any signed-in caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ORGANISING, CallerDep, IdPath, ServicesDep, require_scheme_staff
from api.schemas import MAX_LIST, Address, Hex, SchemeCode, Text, Time, given_time
from api.writes import SignedBody, Write, WriteDep
from ledger.chain.contracts import Activity
from ledger.chain.tx import Signer
from ledger.earning.activities import ActivityView, activity_data
from ledger.identity.auth import Caller
from ledger.values import parse_address

router = APIRouter(prefix="/v1/issuer", tags=["issuer"])


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
            start=given_time(body.start),
            end=given_time(body.end),
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
    view = services.ledger.earning.activity(activity_id)
    return ActivityPublic(**activity_data(view.activity, view.details))


@router.post("/activities/{activity_id}/cancel", response_model=ActivityPublic)
def cancel_activity(
    activity_id: IdPath, body: ActivityCancel, caller: CallerDep, write: WriteDep
) -> object:
    """Cancel an activity (its scheme's issuer or organisers); submitted records stay reviewable."""
    view = _organised(write, caller, activity_id)
    earning = write.services.ledger.earning
    return _changed(
        write,
        body,
        view,
        lambda signer: earning.cancel_activity(
            organiser=signer, activity_id=activity_id, reason=body.reason
        ),
    )


@router.post("/activities/{activity_id}/participants", response_model=ActivityPublic)
def assign_participant(
    activity_id: IdPath, body: ParticipantCreate, caller: CallerDep, write: WriteDep
) -> object:
    """Assign a member to an activity (派单): its scheme's issuer or organisers."""
    view = _organised(write, caller, activity_id)
    member = parse_address(body.member, what="member address")
    earning = write.services.ledger.earning
    return _changed(
        write,
        body,
        view,
        lambda signer: earning.assign(organiser=signer, activity_id=activity_id, member=member),
    )


@router.post("/activities/{activity_id}/sign-up", response_model=ActivityPublic)
def sign_up(activity_id: IdPath, body: SignedBody, caller: CallerDep, write: WriteDep) -> object:
    """The caller signs up for an activity as a volunteer (a registered member)."""
    earning = write.services.ledger.earning
    view = earning.activity(activity_id)
    return _changed(
        write, body, view, lambda signer: earning.sign_up(member=signer, activity_id=activity_id)
    )


def _organised(write: Write, caller: Caller, activity_id: int) -> ActivityView:
    """The activity, if the caller is its scheme's issuer or one of its organisers now."""
    view = write.services.ledger.earning.activity(activity_id)
    require_scheme_staff(write.services, caller, view.activity.scheme_id, ORGANISING)
    return view


def _changed(
    write: Write, body: SignedBody, view: ActivityView, step: Callable[[Signer], Activity]
) -> object:
    """Run a signed step on the activity of `view`; the answer is the activity after it."""
    return write.run(
        lambda signer: ActivityPublic(**activity_data(step(signer), view.details)), body=body
    )
