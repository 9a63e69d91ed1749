"""The council's rate proposals: a council member proposes a scheme's new unit value, the
council approves it, and a member executes it once approved. Council members and auditors read
them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, IdPath, ServicesDep, require_any_role, require_council
from api.schemas import MAX_LIST, SchemeCode
from api.writes import SignedBody, Write, WriteDep
from ledger.chain.tx import Signer
from ledger.governance.council import ProposalOutcome
from ledger.identity.auth import Caller

router = APIRouter(prefix="/v1/issuer", tags=["issuer", "council"])


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
    return ProposalPublic.model_validate({**asdict(outcome), **asdict(outcome.proposal)})


@router.post("/proposals/unit-value", response_model=ProposalPublic, status_code=201)
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


@router.get("/proposals", response_model=list[ProposalPublic])
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


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalPublic)
def approve_proposal(
    proposal_id: IdPath, body: SignedBody, caller: CallerDep, write: WriteDep
) -> object:
    """Approve a proposal as a council member (one signed write; execute it next once approved)."""
    return _council_step("approve", proposal_id, body, caller, write)


@router.post("/proposals/{proposal_id}/execute", response_model=ProposalPublic)
def execute_proposal(
    proposal_id: IdPath, body: SignedBody, caller: CallerDep, write: WriteDep
) -> object:
    """Run an approved proposal (a council member)."""
    return _council_step("execute", proposal_id, body, caller, write)


def _council_step(
    step: Literal["approve", "execute"],
    proposal_id: int,
    body: SignedBody,
    caller: Caller,
    write: Write,
) -> object:
    """A council member's signed step on a proposal, recorded in the admin log."""
    services = write.services
    require_council(services, caller)
    ledger = services.ledger
    take = ledger.approve if step == "approve" else ledger.execute
    return write.run(
        lambda signer: _proposal(take(member=signer, proposal_id=proposal_id)),
        body=body,
        audit=f"proposal.{step}",
        subject=f"proposal {proposal_id}",
    )
