"""The time bank (爱心银行): requests for help paid in hours. A member (or their recorded proxy)
posts, accepts, withdraws, cancels, confirms and disputes; the chain checks who may do each step.
The needs are shown to every signed-in member who may help; the address only to the parties,
their proxies and the scheme's staff (``TimeBank.may_see_address``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, acting_for, reading_for
from api.schemas import MAX_LIST, Hex
from api.writes import SignedBody, Write, WriteDep
from ledger.chain.contracts.timebank import DISPUTE_REASONS, MAX_HOURS, SERVICE_KINDS
from ledger.chain.tx import Signer
from ledger.errors import RecordNotFound
from ledger.identity.auth import Caller
from ledger.spending.timebank import RequestView, TimeBank, request_data
from ledger.values import MAX_TEXT

router = APIRouter(prefix="/v1", tags=["time bank"])

RequestId = Annotated[int, Path(ge=1, le=2**63)]
Status = Literal["open", "accepted", "disputed", "completed", "resolved", "cancelled"]


class RequestPublic(BaseModel):
    id: int
    scheme: str
    status: str
    kind: str | int
    kind_zh: str | None
    hours: int
    requester: str
    helper: str | None
    deadline: str | None = Field(description="China Standard Time")
    hold_id: int | None
    needs: str | None
    address: str | None = Field(description="shown to the parties, their proxies and staff only")
    address_hidden: bool
    posted_by: str | None
    details_hash: Hex
    created: bool | None = Field(
        None, description="after a post: false when the same details were already an open request"
    )


class KindPublic(BaseModel):
    code: int
    name: str
    zh: str
    en: str


class KindsPublic(BaseModel):
    kinds: list[KindPublic]
    dispute_reasons: dict[str, str]


class RequestCreate(SignedBody):
    scheme: str = Field("TIME", min_length=1, max_length=32, description="a time-bank scheme")
    kind: str = Field(min_length=1, max_length=40, description="see /v1/timebank/kinds")
    hours: int = Field(ge=1, le=MAX_HOURS, description="hours offered (1 point = 1 hour)")
    needs: str = Field(min_length=1, max_length=MAX_TEXT)
    address: str | None = Field(None, max_length=MAX_TEXT)
    deadline: datetime | None = Field(None, description="nobody can accept it from this time on")


class DisputeCreate(SignedBody):
    reason: int = Field(ge=0, le=2**16 - 1, description="a code of /v1/timebank/kinds")


def _public(view: RequestView) -> RequestPublic:
    return RequestPublic(**request_data(view))


@router.get("/timebank/kinds", response_model=KindsPublic)
def kinds() -> KindsPublic:
    """The kinds of service a request names and the dispute reason codes (public)."""
    return KindsPublic(
        kinds=[KindPublic(code=k.code, name=k.name, zh=k.zh, en=k.en) for k in SERVICE_KINDS],
        dispute_reasons={str(c): t for c, t in DISPUTE_REASONS.items()},
    )


@router.get("/timebank/requests", response_model=list[RequestPublic])
def requests(
    caller: CallerDep,
    services: ServicesDep,
    status: Annotated[Status, Query()] = "open",
    scheme: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[RequestPublic]:
    """Requests, newest first (open ones unless `status`), for any signed-in member to help."""
    views = services.ledger.timebank.requests(
        status=status, scheme=scheme, viewer=caller.address, last=last
    )
    return [_public(v) for v in views]


@router.get("/members/{address}/timebank/requests", response_model=list[RequestPublic])
def my_requests(
    address: str,
    caller: CallerDep,
    services: ServicesDep,
    status: Annotated[Status | None, Query()] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[RequestPublic]:
    """A member's requests, as requester or helper, newest first."""
    member = reading_for(services, caller, address)
    views = services.ledger.timebank.requests(
        member=member, status=status, viewer=caller.address, last=last
    )
    return [_public(v) for v in views]


@router.get("/timebank/requests/{request_id}", response_model=RequestPublic)
def request(request_id: RequestId, caller: CallerDep, services: ServicesDep) -> RequestPublic:
    """One request (its address only for those involved)."""
    return _public(services.ledger.timebank.request(request_id, viewer=caller.address))


@router.post("/members/{address}/timebank/requests", response_model=RequestPublic, status_code=201)
def post(address: str, body: RequestCreate, caller: CallerDep, write: WriteDep) -> object:
    """Ask for help: the hours are held from the member when someone accepts."""
    member = acting_for(write.services, caller, address)
    timebank = write.services.ledger.timebank
    return write.run(
        lambda signer: _public(
            timebank.post(
                actor=signer,
                member=member,
                scheme=body.scheme,
                kind=body.kind,
                hours=body.hours,
                needs=body.needs,
                address=body.address,
                deadline=body.deadline,
            )
        ),
        body=body,
        status_code=201,
    )


Party = Literal["requester", "helper", "either", "anyone"]
#: What a step does: (the time bank, the signer, the member taking it, the request id).
Step = Callable[[TimeBank, Signer, str, int], RequestView]


def _step(
    write: Write,
    caller: Caller,
    address: str,
    request_id: int,
    body: SignedBody,
    party: Party,
    action: Step,
) -> object:
    """One step of a request by `address` (acting for themselves or through their proxy)."""
    member = acting_for(write.services, caller, address)
    timebank = write.services.ledger.timebank
    current = timebank.request(request_id).request
    parties = {"requester": (current.requester,), "helper": (current.helper,)}
    if party != "anyone" and member not in parties.get(party, (current.requester, current.helper)):
        role = "requester or helper" if party == "either" else party
        raise RecordNotFound(f"{member} is not the {role} of time-bank request {request_id}")
    return write.run(
        lambda signer: _public(action(timebank, signer, member, request_id)), body=body
    )


#: The steps whose body is only the signature: (path, who takes it, what it does, the call).
_STEPS: tuple[tuple[str, Party, str, Step], ...] = (
    (
        "accept",
        "anyone",
        "Take an open request as its helper: the requester's hours are held.",
        lambda tb, signer, member, rid: tb.accept(actor=signer, request_id=rid, helper=member),
    ),
    (
        "withdraw",
        "helper",
        "The helper steps back: the hours return and the request is open again.",
        lambda tb, signer, member, rid: tb.withdraw(actor=signer, request_id=rid),
    ),
    (
        "cancel",
        "requester",
        "The requester cancels a request nobody has accepted.",
        lambda tb, signer, member, rid: tb.cancel(actor=signer, request_id=rid),
    ),
    (
        "confirm",
        "requester",
        "The requester confirms the help: the hours go to the helper as a service record.",
        lambda tb, signer, member, rid: tb.confirm(actor=signer, request_id=rid),
    ),
)


def _route(party: Party, doc: str, call: Step) -> Callable[..., object]:
    def endpoint(
        address: str, request_id: RequestId, body: SignedBody, caller: CallerDep, write: WriteDep
    ) -> object:
        return _step(write, caller, address, request_id, body, party, call)

    endpoint.__doc__ = doc
    return endpoint


for _name, _party, _doc, _call in _STEPS:
    router.add_api_route(
        f"/members/{{address}}/timebank/requests/{{request_id}}/{_name}",
        _route(_party, _doc, _call),
        methods=["POST"],
        response_model=RequestPublic,
        name=_name,
        summary=_name.capitalize(),
    )


@router.post(
    "/members/{address}/timebank/requests/{request_id}/dispute", response_model=RequestPublic
)
def dispute(
    address: str, request_id: RequestId, body: DisputeCreate, caller: CallerDep, write: WriteDep
) -> object:
    """Either party disputes an accepted request; a reviewer of the scheme settles it."""

    def call(tb: TimeBank, signer: Signer, member: str, rid: int) -> RequestView:
        return tb.dispute(actor=signer, request_id=rid, reason=body.reason)

    return _step(write, caller, address, request_id, body, "either", call)
