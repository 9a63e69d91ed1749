"""Cross-scheme exchange (积分通兑): a quote shows the exact result first; executing passes the
quoted values, so a value changed since is refused as ``stale_quote`` rather than giving another
result. The member acts, or their recorded proxy acts for them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CallerDep, ServicesDep, acting_for, reading_for
from api.writes import SignedBody, WriteDep
from ledger.chain.contracts.exchange import MAX_AMOUNT
from ledger.chain.tx import Signer
from ledger.spending.exchange import limits_data, quote_data, result_data

router = APIRouter(prefix="/v1", tags=["exchange"])

SchemeRef = Field(min_length=1, max_length=32, description="a scheme's code or id")
MAX_VALUE = 2**64 - 1


class ExchangeAsk(BaseModel):
    from_scheme: str = SchemeRef
    to_scheme: str = SchemeRef
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="points of from_scheme to exchange")


class QuoteCreate(ExchangeAsk):
    pass


class ExchangeCreate(SignedBody, ExchangeAsk):
    from_value: int = Field(ge=0, le=MAX_VALUE, description="the quote's from_value")
    to_value: int = Field(ge=0, le=MAX_VALUE, description="the quote's to_value")


class ValueChangePublic(BaseModel):
    value: int
    from_block: int


class ProblemPublic(BaseModel):
    error: str
    message: str


class QuotePublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    member: str
    from_scheme: str = Field(alias="from")
    to_scheme: str = Field(alias="to")
    amount: int
    used: int = Field(description="points given (the rest of the amount stays with the member)")
    kept: int
    out: int = Field(description="points received")
    value: int = Field(description="value carried over, thousandths of the standard unit")
    value_csu: str
    dust: int
    from_value: int
    to_value: int
    values: str
    block: int
    from_next: ValueChangePublic | None
    to_next: ValueChangePublic | None
    ok: bool
    problem: ProblemPublic | None = Field(description="why it would be refused now, if it would")


class ExchangePublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    exchange_id: int
    member: str
    from_scheme: str = Field(alias="from")
    to_scheme: str = Field(alias="to")
    amount: int
    used: int
    out: int
    value: int
    value_csu: str
    dust: int
    from_value: int
    to_value: int
    tx_hash: str
    block: int
    gas_used: int


class LimitsPublic(BaseModel):
    scheme: str
    min_value: int
    member_daily: int
    member_monthly: int
    scheme_daily_out: int
    scheme_daily_in: int
    unit: str
    scheme_out_today: int
    scheme_in_today: int


@router.post(
    "/members/{address}/exchange/quote", response_model=QuotePublic, response_model_by_alias=True
)
def quote(address: str, body: QuoteCreate, caller: CallerDep, services: ServicesDep) -> Any:
    """The exact result of an exchange now, and the first reason it would be refused (a read:
    nothing is signed). Pass its `from_value` and `to_value` to execute it."""
    member = reading_for(services, caller, address)
    q = services.ledger.exchange.quote(
        member=member,
        from_scheme=body.from_scheme,
        to_scheme=body.to_scheme,
        amount=body.amount,
        actor=caller.address,
    )
    return QuotePublic.model_validate(quote_data(q))


@router.post(
    "/members/{address}/exchanges",
    response_model=ExchangePublic,
    response_model_by_alias=True,
    status_code=201,
)
def execute(address: str, body: ExchangeCreate, caller: CallerDep, write: WriteDep) -> object:
    """Exchange at the quoted values; refused as `stale_quote` if either value changed since.
    Send an Idempotency-Key: a retry with it exchanges once."""
    member = acting_for(write.services, caller, address)
    exchange = write.services.ledger.exchange

    def run(signer: Signer) -> dict[str, Any]:
        result = exchange.execute(
            actor=signer,
            member=member,
            from_scheme=body.from_scheme,
            to_scheme=body.to_scheme,
            amount=body.amount,
            values=(body.from_value, body.to_value),
        )
        return ExchangePublic.model_validate(result_data(result)).model_dump(by_alias=True)

    return write.run(run, body=body, status_code=201)


@router.get("/schemes/{scheme}/exchange-limits", response_model=LimitsPublic)
def limits(
    scheme: Annotated[str, Path(min_length=1, max_length=32)], services: ServicesDep
) -> LimitsPublic:
    """A scheme's exchange limits (thousandths of the standard unit; 0: no limit) and today's use
    (public)."""
    s = services.ledger.scheme(scheme)
    data = limits_data(s.code, services.ledger.exchange.limits(s.id))
    return LimitsPublic(**data, **services.ledger.exchange.usage(s.id))
