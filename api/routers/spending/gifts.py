"""Gifts between members and community funds (社区基金): a member (or their recorded proxy)
gives points to another member where the scheme allows gifts, or donates them to a fund; signed-in
members read the funds and their history. Memos, notes and purposes stay off chain."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CallerDep, ServicesDep, acting_for
from api.schemas import Hex
from api.writes import SignedBody, Write, WriteDep
from ledger.chain.tx import Signer
from ledger.identity.auth import Caller
from ledger.spending.gifts import (
    MAX_POINTS,
    MAX_TEXT,
    GiftReceipt,
    Gifts,
    fund_data,
    history_data,
    receipt_data,
)

router = APIRouter(prefix="/v1", tags=["gifts"])

FundId = Annotated[int, Path(ge=1, le=2**63)]


class ReceiptPublic(BaseModel):
    kind: str = Field(description="gift or donation")
    request_id: str
    scheme_id: int
    fund_id: int | None
    from_: str = Field(alias="from")
    to: str | None
    amount: int
    text: str = Field(description="the memo or note (kept off chain)")
    text_hash: str
    tx_hash: str | None
    repeated: bool


class FundPublic(BaseModel):
    id: int
    scheme: str
    scheme_id: int
    name: str | None
    description: str | None
    manager: str
    balance: int
    donated: int
    granted: int
    created_at: str | None
    details_hash: Hex


class HistoryLinePublic(BaseModel):
    kind: str
    block: int
    tx_hash: str
    account: str | None
    amount: int
    text: str | None
    hash: Hex | None
    operator: str | None


class FundHistoryPublic(BaseModel):
    fund_id: int
    history: list[HistoryLinePublic]


class GiftCreate(SignedBody):
    scheme: str = Field(min_length=1, max_length=32)
    recipient: str = Field(min_length=1, max_length=64, description="the receiving member")
    amount: int = Field(ge=1, le=MAX_POINTS)
    memo: str = Field("", max_length=MAX_TEXT)


class DonationCreate(SignedBody):
    amount: int = Field(ge=1, le=MAX_POINTS)
    note: str = Field("", max_length=MAX_TEXT)


def _request_id(write: Write) -> str:
    """The ledger's request id of this write. Its memo's hash is salted once per request id, so
    the call signed after a 428 must name the same one: the Idempotency-Key when given (a retry
    after a crash then finds the first gift on chain instead of giving again), else the request
    and the caller's relay nonce (the same until their next write goes through)."""
    caller = write.caller.address
    if write.key is not None:
        seed = f"key\n{caller}\n{write.key}"
    else:
        seed = f"nonce\n{caller}\n{write.request_hash}\n{write.services.relay.nonce(caller)}"
    return "api-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


def _receipt(data: dict[str, object]) -> dict[str, object]:
    return ReceiptPublic.model_validate(data).model_dump(by_alias=True)


def _send(
    write: Write,
    caller: Caller,
    address: str,
    body: SignedBody,
    move: Callable[[Gifts, Signer, str, str], GiftReceipt],
) -> object:
    """A gift or a donation of `address`'s points (by them or their proxy): `move` is given the
    signer, the member and this write's request id; the answer is its receipt, 201."""
    member = acting_for(write.services, caller, address)
    gifts = write.services.ledger.gifts
    return write.run(
        lambda signer: _receipt(receipt_data(move(gifts, signer, member, _request_id(write)))),
        body=body,
        status_code=201,
    )


@router.post("/members/{address}/gifts", response_model=ReceiptPublic, status_code=201)
def give(address: str, body: GiftCreate, caller: CallerDep, write: WriteDep) -> object:
    """Give points to another member (where the scheme allows gifts)."""

    def gift(gifts: Gifts, signer: Signer, member: str, request_id: str) -> GiftReceipt:
        return gifts.give(
            operator=signer,
            scheme=body.scheme,
            giver=member,
            recipient=body.recipient,
            amount=body.amount,
            memo=body.memo,
            request_id=request_id,
        )

    return _send(write, caller, address, body, gift)


@router.get("/funds", response_model=list[FundPublic])
def funds(
    caller: CallerDep,
    services: ServicesDep,
    scheme: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> list[FundPublic]:
    """Every community fund (of one scheme if given), oldest first."""
    return [FundPublic(**fund_data(v)) for v in services.ledger.gifts.funds(scheme=scheme)]


@router.get("/funds/{fund_id}", response_model=FundPublic)
def fund(fund_id: FundId, caller: CallerDep, services: ServicesDep) -> FundPublic:
    return FundPublic(**fund_data(services.ledger.gifts.fund(fund_id)))


@router.get("/funds/{fund_id}/history", response_model=FundHistoryPublic)
def fund_history(fund_id: FundId, caller: CallerDep, services: ServicesDep) -> FundHistoryPublic:
    """Everything that happened to a fund, from the chain's events, with notes and purposes."""
    lines = services.ledger.gifts.history(fund_id)
    return FundHistoryPublic(
        fund_id=fund_id, history=[HistoryLinePublic(**history_data(h)) for h in lines]
    )


@router.post(
    "/members/{address}/funds/{fund_id}/donations", response_model=ReceiptPublic, status_code=201
)
def donate(
    address: str, fund_id: FundId, body: DonationCreate, caller: CallerDep, write: WriteDep
) -> object:
    """Donate a member's points to a community fund."""

    def donation(gifts: Gifts, signer: Signer, member: str, request_id: str) -> GiftReceipt:
        return gifts.donate(
            operator=signer,
            fund_id=fund_id,
            member=member,
            amount=body.amount,
            note=body.note,
            request_id=request_id,
        )

    return _send(write, caller, address, body, donation)
